-- policy-extras.rollup: Sterna's own implementation of KumoMTA's queue rollup helper
-- (docs.kumomta.com, "Configuring Queue Rollup"). Two schemes, chosen by the mapping's value:
--   * MX host suffix rollup: when every MX host of the recipient's domain ends with a suffix of
--     the mapping, `routing_domain` is set to that suffix's domain (`'outlook.com'`), so domains
--     sharing a provider share its scheduled and ready queues and its shaping;
--   * IP rollup: a value ending in `.ip_rollup` routes by the domain's first (most preferred) MX
--     host alone, and `apply_ip_rollup_to_queue_config` sends such a queue to that host's
--     addresses (`mx_list = { '[a.b.c.d]', … }`), so domains on the same addresses share a
--     ready queue.
local kumo = require 'kumo'

local type, tostring, pairs, ipairs = type, tostring, pairs, ipairs

local mod = {}

local function strip(name) return (tostring(name):lower():gsub('%.$', '')) end

local function ends_with(s, suffix) return s:sub(-#suffix) == suffix end

-- The mapping's routing domain for these hosts: every host must match the same entry's suffix.
local function match_all(hosts, mapping)
  local found
  for _, host in ipairs(hosts) do
    local this
    for suffix, target in pairs(mapping) do
      if ends_with(host, strip(suffix)) then
        this = target
        break
      end
    end
    if this == nil or (found ~= nil and found ~= this) then return nil end
    found = this
  end
  return found
end

--- Sets the message's `routing_domain` from `mapping` (MX host suffix → routing domain) when its
--- recipient domain's MX hosts match; returns the routing domain chosen, or nil.
function mod.reroute_using_ip_rollup(msg, mapping)
  if type(mapping) ~= 'table' then error('rollup: expected a table of MX host suffix = routing domain', 2) end
  local domain = msg:recipient().domain
  local ok, mx = pcall(kumo.dns.lookup_mx, domain)
  if not ok or type(mx) ~= 'table' or type(mx.hosts) ~= 'table' or #mx.hosts == 0 then return nil end
  local hosts = {}
  for i, h in ipairs(mx.hosts) do hosts[i] = strip(h) end
  -- An IP rollup target looks at the first MX host only; a routing domain at all of them.
  local ip_targets, domain_targets = {}, {}
  for suffix, target in pairs(mapping) do
    if tostring(target):match('%.ip_rollup$') then
      ip_targets[suffix] = target
    else
      domain_targets[suffix] = target
    end
  end
  local target = match_all({ hosts[1] }, ip_targets) or match_all(hosts, domain_targets)
  if target == nil then return nil end
  msg:set_meta('routing_domain', target)
  return target
end

--- For a queue routed to an `.ip_rollup` domain: points `params.protocol` at the addresses of
--- `domain`'s first MX host. Other queues are left alone. Returns `params`.
function mod.apply_ip_rollup_to_queue_config(domain, routing_domain, params)
  params = params or {}
  if type(routing_domain) ~= 'string' or not routing_domain:match('%.ip_rollup$') then return params end
  local mx = kumo.dns.lookup_mx(domain)
  local first = mx.hosts and mx.hosts[1]
  if first == nil then error('rollup: ' .. tostring(domain) .. ' has no MX host', 2) end
  local addresses = kumo.dns.lookup_addr(strip(first))
  local list = {}
  for _, a in ipairs(addresses) do list[#list + 1] = '[' .. tostring(a) .. ']' end
  table.sort(list)
  if #list == 0 then error('rollup: ' .. strip(first) .. ' has no address', 2) end
  params.protocol = { smtp = { mx_list = list } }
  return params
end

return mod
