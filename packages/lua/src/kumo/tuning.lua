-- KumoMTA's thread-pool, Lua-context-pool, memory and MX-resolver tuning calls. Sterna has none
-- of the first three kinds of knob (see docs/policy-api.md for what each stands for here): each
-- such call checks its argument as KumoMTA does, so a mistake still fails loudly, and does
-- nothing else. The MX resolver's three are applied.
local H, kumo = ...
local type, error, tostring, mtype = type, error, tostring, math.type

local function whole(name, minimum)
  return function(n)
    local ok = mtype(n) == 'integer' or (mtype(n) == 'float' and n == math.floor(n))
    if not ok or n < minimum then
      error(string.format('%s: expected a whole number of at least %d, got %s', name, minimum, tostring(n)), 2)
    end
  end
end

local function duration(name)
  return function(d)
    H.duration_seconds(d, name)
  end
end

for _, pool in ipairs({ 'spoolin', 'logging', 'httpinject', 'qmaint', 'ready_qmaint', 'readyq', 'smtpsrv' }) do
  local name = 'set_' .. pool .. '_threads'
  kumo[name] = whole('kumo.' .. name, 1)
end
kumo.set_max_lua_context_use_count = whole('kumo.set_max_lua_context_use_count', 0)
kumo.set_max_lua_context_age = whole('kumo.set_max_lua_context_age', 0)
kumo.set_max_spare_lua_contexts = whole('kumo.set_max_spare_lua_contexts', 0)
kumo.set_lua_gc_on_put = function(n)
  if mtype(n) ~= 'integer' and not (mtype(n) == 'float' and n == math.floor(n)) or n < 0 or n > 255 then
    error('kumo.set_lua_gc_on_put: expected a whole number from 0 to 255, got ' .. tostring(n), 2)
  end
end
for _, limit in ipairs({ 'hard_limit', 'soft_limit', 'low_thresh' }) do
  kumo['set_memory_' .. limit] = whole('kumo.set_memory_' .. limit, 0)
end

kumo.dkim.set_signing_threads = whole('kumo.dkim.set_signing_threads', 1)

-- The MX resolver's tuning is real: checked here, then handed to the daemon's resolver.
local function mx_tuning(key, check)
  return function(value)
    check(value)
    H.configure('mx_resolver', { [key] = value }):await()
  end
end
kumo.dns.set_mx_timeout = mx_tuning('timeout', duration('kumo.dns.set_mx_timeout'))
kumo.dns.set_mx_negative_cache_ttl = mx_tuning('negative_cache_ttl', duration('kumo.dns.set_mx_negative_cache_ttl'))
kumo.dns.set_mx_concurrency_limit = mx_tuning('concurrency_limit', whole('kumo.dns.set_mx_concurrency_limit', 1))
