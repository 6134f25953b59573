-- kumo.amqp: publishing to an AMQP 0-9-1 broker (RabbitMQ). The connections live on the
-- daemon's thread, which holds them for every Lua context; the objects here hold numbers.
-- Every publish is confirmed by the broker (publisher confirms are always on), so a publish
-- that returns has been taken by the broker; a broker that cannot be reached raises.
local H, kumo = ...
local type, setmetatable, getmetatable, error, format = type, setmetatable, getmetatable, error, string.format

local amqp = {}

-- The answer of `client:publish`: the broker's confirmation, already received.
local Confirmation = { __name = 'amqp.Confirmation' }
Confirmation.__index = {
  --- `{ status = 'Ack' | 'Nack', reply_code, reply_text }`.
  wait = function(self) return self.result end,
}

local Client = { __name = 'amqp.Client' }
local client_methods = {}
Client.__index = client_methods
Client.__tostring = function(c) return format('amqp.Client(%d%s)', c.id, c.closed and ', closed' or '') end

local function check_client(self, method)
  if getmetatable(self) ~= Client then
    error(format('amqp client:%s: call it as client:%s{…} on a client from kumo.amqp.build_client', method, method), 3)
  end
  if self.closed then error(format('amqp client:%s: the client is closed', method), 3) end
end

--- `client:publish{ routing_key, payload, exchange }`: waits for the broker's confirmation and
--- returns an object whose `wait()` gives it.
function client_methods:publish(params)
  check_client(self, 'publish')
  if type(params) ~= 'table' then
    error(format('amqp client:publish: expected a table { routing_key = …, payload = … }, got %s', type(params)), 2)
  end
  return setmetatable({ result = H.amqp_publish(self.id, params):await() }, Confirmation)
end

--- `client:close()`: gives the client up (a second call raises); the connection to its URI is
--- closed once no other client uses it.
function client_methods:close()
  check_client(self, 'close')
  self.closed = true
  H.amqp_close(self.id):await()
end

--- `kumo.amqp.build_client(uri)`: a client of the broker at `uri` (`amqp://user:pass@host:port/vhost`,
--- `amqps://` for TLS).
function amqp.build_client(uri)
  if type(uri) ~= 'string' or uri == '' then
    error(format("kumo.amqp.build_client: expected a URI such as 'amqp://localhost', got %s", type(uri)), 2)
  end
  return setmetatable({ id = H.amqp_build_client(uri):await(), closed = false }, Client)
end

--- `kumo.amqp.basic_publish{ routing_key, payload, exchange, connection = {…}, … }`: publishes
--- through a connection kept for that `connection` table; raises unless the broker confirmed.
function amqp.basic_publish(params)
  if type(params) ~= 'table' then
    error(format('kumo.amqp.basic_publish: expected a table { routing_key = …, payload = …, connection = {…} }, got %s', type(params)), 2)
  end
  H.amqp_basic_publish(params):await()
end

kumo.amqp = amqp
