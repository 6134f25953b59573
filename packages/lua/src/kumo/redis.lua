-- kumo.redis.open{…} (and `require 'redis'`, KumoMTA's name for the same module): a connection
-- to a redis server or cluster. The connection lives on the daemon's thread, one per distinct
-- set of parameters, shared by every Lua context; the object here holds its number, so it can
-- be kept in a global or returned from a kumo.memoize'd function and shared as it is.
local H, kumo = ...
local type, setmetatable, getmetatable, error, format = type, setmetatable, getmetatable, error, string.format

local Connection = { __name = 'redis.Connection' }
local methods = {}
Connection.__index = methods
Connection.__tostring = function(conn) return format('redis.Connection(%d)', conn.id) end

--- `conn:query(cmd, ...)`: one redis command; its reply as Lua sees it (an array reply is a
--- table, a null reply nil, an integer an integer, a status or bulk string a string). A redis
--- error reply raises `redis query <CMD>: <message>`.
function methods:query(cmd, ...)
  if getmetatable(self) ~= Connection then
    error('redis query: call it as conn:query(cmd, ...) on a connection from redis.open', 2)
  end
  if type(cmd) ~= 'string' or cmd == '' then
    error(format('redis query: expected a command name (a string), got %s', type(cmd)), 2)
  end
  return H.redis_query(self.id, cmd, ...):await()
end

local redis = {}

--- `redis.open{ node = 'redis://…' | { … }, pool_size, connect_timeout, … }`.
function redis.open(params)
  if type(params) ~= 'table' then
    error(format("redis.open: expected a table of parameters { node = 'redis://…' }, got %s", type(params)), 2)
  end
  return setmetatable({ id = H.redis_open(params):await() }, Connection)
end

kumo.redis = redis
