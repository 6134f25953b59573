-- policy-extras.docker_utils: Sterna's implementation of KumoMTA's helpers for policies running
-- in Docker: the container's own network, and the addresses behind a service name.
--
--   local docker_utils = require 'policy-extras.docker_utils'
--   kumo.start_esmtp_listener { relay_hosts = { docker_utils.resolve_docker_network() } }
--
-- Names are resolved with kumo.dns.lookup_addr, which reads /etc/hosts before DNS (Docker
-- writes the container's own name there; service names come from Docker's DNS). KumoMTA's copy
-- runs `getent ahostsv4`; the answers are the same IPv4 addresses.
local kumo = require 'kumo'

local mod = {}

local type, ipairs, tostring, error = type, ipairs, tostring, error
local format = string.format

local function is_ipv4(address)
  return type(address) == 'string' and address:match('^%d+%.%d+%.%d+%.%d+$') ~= nil
end

-- The IPv4 addresses `name` resolves to, in the resolver's order, without repeats.
local function resolve_docker_name(name)
  local result, seen = {}, {}
  for _, address in ipairs(kumo.dns.lookup_addr(name)) do
    address = tostring(address)
    if is_ipv4(address) and not seen[address] then
      seen[address] = true
      result[#result + 1] = address
    end
  end
  return result
end

--- The IPv4 addresses of `name` (a container or service name). A service deployed with
--- `endpoint_mode: dnsrr` gives one address per task, otherwise its virtual IP. Cached for a
--- minute, so scaling is noticed soon.
mod.resolve_docker_name = kumo.memoize(resolve_docker_name, {
  name = 'policy-extras.docker_utils.resolve_docker_name',
  ttl = '1 minute',
  capacity = 1024,
})

-- The container's network, taken to be the /24 around the first IPv4 address of $HOSTNAME.
local function resolve_docker_network()
  local hostname = os.getenv('HOSTNAME')
  if hostname == nil or hostname == '' then error('HOSTNAME is not set in the environment', 2) end
  local addresses = mod.resolve_docker_name(hostname)
  local first = addresses[1]
  if first == nil then
    error(format('docker_utils: HOSTNAME %s does not resolve to an IPv4 address', hostname), 2)
  end
  return first:match('^(%d+%.%d+%.%d+)%.%d+$') .. '.0/24'
end

--- The container's network as a CIDR block (`'172.18.0.0/24'`): the /24 holding the address
--- `$HOSTNAME` resolves to. Cached for an hour.
mod.resolve_docker_network = kumo.memoize(resolve_docker_network, {
  name = 'policy-extras.docker_utils.resolve_docker_network',
  ttl = '1 hour',
  capacity = 1,
})

--- The traffic shaping automation daemons' URLs: `http://<ip>:8008` for each address of the
--- service `tsa` (deploy it with `endpoint_mode: dnsrr` to get one per task).
function mod.resolve_tsa_endpoints()
  local endpoints = {}
  for i, address in ipairs(mod.resolve_docker_name('tsa')) do
    endpoints[i] = format('http://%s:8008', address)
  end
  return endpoints
end

return mod
