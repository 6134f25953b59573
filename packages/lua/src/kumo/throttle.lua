-- kumo.make_throttle(name, spec): a named GCRA throttle. The check is asked of the daemon, so
-- every Lua context (each worker thread) and the daemon's own throttles share one state per
-- name; the spec is checked here, on the worker, before anything is asked.
local H, kumo = ...
local type, error, setmetatable, rawget, format = type, error, setmetatable, rawget, string.format

local Throttle = { __name = 'Throttle' }
local T = {}
Throttle.__index = T
Throttle.__tostring = function(t) return format('Throttle(%s, %s)', t.name, t.spec) end

local function check(self) return H.throttle_check(self.name, self.spec):await() end

--- KumoMTA's `throttle:throttle()`: counts the operation when it may go. A table
--- `{ throttled, limit, remaining, reset_after, retry_after }`, durations in seconds,
--- `retry_after` nil when the operation was allowed.
function T:throttle() return check(self) end

--- Waits (blocking only this handler) until the operation may go; true when it had to wait.
function T:sleep_if_throttled()
  local waited = false
  while true do
    local result = check(self)
    if result.retry_after == nil then return waited end
    waited = true
    kumo.sleep(result.retry_after)
  end
end

--- When throttled, the message is due again after `retry_after` (no jitter); true when it was
--- delayed.
function T:delay_message_if_throttled(msg)
  if type(msg) ~= 'table' or type(rawget(msg, '__h')) ~= 'number' then
    error(format("throttle '%s': delay_message_if_throttled expects a message, got %s", self.name, type(msg)), 2)
  end
  local result = check(self)
  if result.retry_after == nil then return false end
  H.msg_delay_by(msg.__h, result.retry_after)
  return true
end

function kumo.make_throttle(name, spec)
  H.throttle_spec(name, spec)
  return setmetatable({ name = name, spec = spec }, Throttle)
end
