-- A container policy in the style of KumoMTA's Docker examples: the container learns its own
-- address by resolving $HOSTNAME (the runtime writes it into /etc/hosts), listens there and
-- sends from it. Spool and logs on volumes.
local kumo = require 'kumo'

local HOSTNAME = os.getenv 'HOSTNAME' or 'localhost'
local function own_address()
  local addrs = kumo.dns.lookup_addr(HOSTNAME)
  for _, addr in ipairs(addrs) do
    if not addr:find(':', 1, true) then return addr end
  end
  error('no IPv4 address for ' .. HOSTNAME)
end

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.start_http_listener { listen = '0.0.0.0:8000', trusted_hosts = { '127.0.0.1', '::1', '172.16.0.0/12' } }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:2500',
    hostname = HOSTNAME,
    relay_hosts = { '127.0.0.1', '172.16.0.0/12' },
  }
end)

kumo.on('get_egress_source', function(source_name)
  return kumo.make_egress_source {
    name = source_name,
    source_address = own_address(),
    ehlo_domain = HOSTNAME,
  }
end)

kumo.on('get_egress_pool', function(pool_name)
  return kumo.make_egress_pool { name = pool_name, entries = { { name = 'container' } } }
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config { egress_pool = 'container' }
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path { enable_tls = 'OpportunisticInsecure' }
end)
