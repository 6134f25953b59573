-- kumo.nats: a client of a NATS server. The connection lives on the daemon's thread (one per
-- `connect` call); Lua holds its number. `publish` with `await_ack = true` goes through
-- JetStream and returns once the server has stored the message; otherwise it is a core NATS
-- publish, flushed to the server. Any failure raises.
local H, kumo = ...
local type, error, setmetatable, getmetatable, format = type, error, setmetatable, getmetatable, string.format

local Client = { __name = 'NatsClient' }
Client.__index = Client
Client.__tostring = function(c) return format('NatsClient(%d%s)', c.id, c.closed and ', closed' or '') end

-- `client.publish{…}` (a dot for the colon) would pass the table as the client: said plainly.
local function check_self(self, method)
  if type(self) ~= 'table' or getmetatable(self) ~= Client then
    error(format('nats client:%s: call it as client:%s{…}, with a colon', method, method), 3)
  end
end

--- `client:publish{ subject, payload, headers, await_ack }`.
function Client:publish(params)
  check_self(self, 'publish')
  if self.closed then error('nats client:publish: the client is closed', 2) end
  H.nats_publish(self.id, params):await()
end

--- Closes the connection (pending core publishes are flushed first). Closing twice is harmless.
function Client:close()
  check_self(self, 'close')
  if self.closed then return end
  self.closed = true
  H.nats_close(self.id):await()
end

kumo.nats = {
  --- `kumo.nats.connect{ servers = { … }, … }`: KumoMTA's parameters (docs/cluster.md lists
  --- which act in Sterna).
  connect = function(config) return setmetatable({ id = H.nats_connect(config):await() }, Client) end,
}
