-- The Lua half of the runtime: events, `kumo.reject`, the dispatcher the TypeScript side calls,
-- and the `custom_lua` object registry. It runs before the kumo modules, given the host
-- function table `H`; the context keeps references to the `internal` functions it defines.
-- Globals the policy might replace are captured as locals first, so a policy that assigns
-- `pcall = nil` cannot break the dispatcher.
local H, kumo, internal = ...
local type, error, xpcall, select, setmetatable, getmetatable, tostring, pairs, ipairs, rawget =
  type, error, xpcall, select, setmetatable, getmetatable, tostring, pairs, ipairs, rawget
local format, getinfo, traceback = string.format, debug.getinfo, debug.traceback
local pack, unpack = table.pack, table.unpack

local handlers = {}
local MULTIPLE = {
  get_queue_config = true, should_enqueue_log_record = true, requeue_message = true,
  throttle_insert_ready_queue = true, get_acl_definition = true, pre_init = true,
  validate_config = true,
}
local depth = 0

function kumo.on(name, fn)
  if type(name) ~= 'string' then error('kumo.on: the event name must be a string', 2) end
  if type(fn) ~= 'function' then error('kumo.on: the handler for ' .. name .. ' must be a function', 2) end
  if depth > 0 then
    error('kumo.on: cannot register a handler for ' .. name .. ' from inside an event handler', 2)
  end
  local list = handlers[name]
  if list == nil then
    handlers[name] = { fn }
  elseif MULTIPLE[name] then
    list[#list + 1] = fn
  else
    local info = getinfo(list[1], 'S')
    error(format('%s event already has a handler defined at %s:%d', name, info.short_src,
      info.linedefined), 2)
  end
end

local Rejection = { __name = 'kumo.Rejection' }
Rejection.__tostring = function(r) return format('%s %s', tostring(r.code), tostring(r.message)) end
internal.Rejection = Rejection

function kumo.reject(code, message)
  if type(code) ~= 'number' then error('kumo.reject: code must be a number', 2) end
  error(setmetatable({ code = code, message = tostring(message or '') }, Rejection))
end

-- xpcall message handler: keeps a kumo.reject table intact (wasmoon would turn a raw error
-- table into 'table: 0x…'), adds a traceback to anything else.
local DISCONNECT = { If421 = true, FollowWith421 = true, ForceDisconnect = true }
function kumo.disconnect(code, message, how)
  if type(code) ~= 'number' then error('kumo.disconnect: code must be a number', 2) end
  how = how or 'ForceDisconnect'
  if not DISCONNECT[how] then
    error("kumo.disconnect: expected 'If421', 'FollowWith421' or 'ForceDisconnect', got " .. tostring(how), 2)
  end
  error(setmetatable({ code = code, message = tostring(message or ''), disconnect = how }, Rejection))
end

local function on_error(e)
  if getmetatable(e) == Rejection then return e end
  local text = tostring(e)
  return { message = text, traceback = traceback(text, 2) }
end

local function finish(ok, ...)
  if ok then return 'ok', ... end
  local e = ...
  if getmetatable(e) == Rejection then return 'reject', e.code, e.message, e.disconnect end
  if type(e) == 'table' then return 'error', e.message, e.traceback end
  return 'error', tostring(e)
end

local function run_list(list, ...)
  local n = #list
  for i = 1, n - 1 do
    local r = pack(xpcall(list[i], on_error, ...))
    if not r[1] or r[2] ~= nil then return unpack(r, 1, r.n) end
  end
  return xpcall(list[n], on_error, ...)
end

local function exit(...) depth = depth - 1 return ... end

-- KumoMTA's connection metadata object: get_meta / set_meta, and the keys readable as fields.
-- A set_meta marks the object, so the call hands the whole meta back to the daemon, which keeps
-- it for the connection's later events (each call runs on its own coroutine, so the mark is on
-- the object, not in a shared variable).
local rawset = rawset
local ConnMeta = { __name = 'ConnectionMetaData' }
local changed_meta = setmetatable({}, { __mode = 'k' })
ConnMeta.__index = {
  get_meta = function(self, name) return rawget(self, name) end,
  set_meta = function(self, name, value)
    rawset(self, name, value)
    changed_meta[self] = true
  end,
}
local function make_conn_meta(t) return setmetatable(t, ConnMeta) end

local new_message, make_address = internal.new_message, internal.make_address
-- Turns the marked arguments of `args` into message, address and conn_meta objects in place;
-- returns the conn_meta object, if there is one.
local function wrap_args(args, n)
  local conn
  for i = 1, n do
    local a = args[i]
    if type(a) == 'table' then
      if a.__sterna_message ~= nil then
        args[i] = new_message(a.__sterna_message)
      elseif a.__sterna_address ~= nil then
        args[i] = make_address(a.__sterna_address)
      elseif type(a.__sterna_conn_meta) == 'table' then
        conn = make_conn_meta(a.__sterna_conn_meta)
        args[i] = conn
      elseif type(a[1]) == 'table' and a[1].__sterna_message ~= nil then
        for j = 1, #a do a[j] = new_message(a[j].__sterna_message) end
      end
    end
  end
  return conn
end

local function wrap_messages(n, ...)
  local args = pack(...)
  wrap_args(args, n)
  return unpack(args, 1, n)
end

-- After a call that changed its conn_meta: 'ok_conn_meta', the meta as a plain table, values...
local function with_conn_meta(conn, status, ...)
  if status ~= 'ok' or not changed_meta[conn] then return status, ... end
  changed_meta[conn] = nil
  local plain = {}
  for k, v in pairs(conn) do plain[k] = v end
  return 'ok_conn_meta', plain, ...
end

-- dispatch(name, nargs_with_messages_or_0, ...) -> status, values...
function internal.dispatch(name, wrap, ...)
  local list = handlers[name]
  if list == nil then return 'none' end
  depth = depth + 1
  if wrap == 0 then return exit(finish(run_list(list, ...))) end
  local args = pack(...)
  local conn = wrap_args(args, wrap)
  if conn == nil then return exit(finish(run_list(list, unpack(args, 1, wrap)))) end
  return exit(with_conn_meta(conn, finish(run_list(list, unpack(args, 1, wrap)))))
end

local objects, next_object = {}, 0

local function method_names(obj)
  local names = {}
  if type(obj) ~= 'table' then return names end
  for k, v in pairs(obj) do
    if type(k) == 'string' and type(v) == 'function' then names[#names + 1] = k end
  end
  local mt = getmetatable(obj)
  if type(mt) == 'table' and type(mt.__index) == 'table' then
    for k, v in pairs(mt.__index) do
      if type(k) == 'string' and type(v) == 'function' and rawget(obj, k) == nil then names[#names + 1] = k end
    end
  end
  return names
end

-- construct(event, ...) -> 'ok', id, method names | status, ...
function internal.construct(name, ...)
  local list = handlers[name]
  if list == nil then return 'none' end
  depth = depth + 1
  local ok, obj = run_list(list, ...)
  depth = depth - 1
  if not ok then return finish(false, obj) end
  if obj == nil then return 'error', name .. ' returned nil instead of a connection object' end
  next_object = next_object + 1
  objects[next_object] = obj
  return 'ok', next_object, method_names(obj)
end

-- call_method(id, method, wrap, ...) -> status, values...
function internal.call_method(id, method, wrap, ...)
  local obj = objects[id]
  if obj == nil then return 'gone' end
  local fn = obj[method]
  if type(fn) ~= 'function' then return 'none' end
  depth = depth + 1
  if wrap > 0 then return exit(finish(xpcall(fn, on_error, obj, wrap_messages(wrap, ...)))) end
  return exit(finish(xpcall(fn, on_error, obj, ...)))
end

function internal.release(id) objects[id] = nil end

local collect = collectgarbage
function internal.collect() collect() collect() end

function internal.events()
  local names = {}
  for k in pairs(handlers) do names[#names + 1] = k end
  return names
end
