-- A PowerMTA configuration carried over: virtual MTAs become egress sources, virtual-MTA pools
-- become egress pools, <domain> blocks become egress path settings and the X-Virtual-MTA
-- header chooses the pool, as the injector already sets it.
local kumo = require 'kumo'

-- <virtual-mta vmta1> smtp-source-host 127.0.0.2 o1.sender.test </virtual-mta> …
local VIRTUAL_MTAS = {
  vmta1 = { source_address = '127.0.0.2', ehlo_domain = 'o1.sender.test' },
  vmta2 = { source_address = '127.0.0.3', ehlo_domain = 'o2.sender.test' },
}

-- <virtual-mta-pool …> virtual-mta … </virtual-mta-pool>
local POOLS = {
  ['pool-a'] = { 'vmta1' },
  ['pool-b'] = { 'vmta2' },
  ['pool-all'] = { 'vmta1', 'vmta2' },
}

-- <domain …> max-smtp-out, max-msg-per-connection, retry-after, bounce-after </domain>
local DOMAIN_DIRECTIVES = kumo.domain_map.new()
DOMAIN_DIRECTIVES['*.dest.test'] = { connection_limit = 2, max_deliveries_per_connection = 50 }
DOMAIN_DIRECTIVES['dest.test'] = { connection_limit = 4, max_deliveries_per_connection = 100 }
local DEFAULT_DIRECTIVES = { connection_limit = 20, max_deliveries_per_connection = 500 }

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:25',
    hostname = 'pmta-replacement.sender.test',
    relay_hosts = { '127.0.0.1' },
  }
end)

kumo.on('smtp_server_message_received', function(msg)
  local vmta = msg:get_first_named_header_value 'X-Virtual-MTA'
  msg:remove_all_named_headers 'X-Virtual-MTA'
  if vmta and POOLS[vmta] then
    msg:set_meta('tenant', vmta)
  elseif vmta then
    kumo.reject(550, '5.7.1 unknown virtual MTA ' .. vmta)
  end
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config {
    egress_pool = tenant or 'pool-all',
    retry_interval = '10 mins', -- retry-after 10m
    max_age = '2 days', -- bounce-after 2d
  }
end)

kumo.on('get_egress_pool', function(pool_name)
  local members = POOLS[pool_name]
  if not members then error('no such virtual-mta-pool ' .. pool_name) end
  local entries = {}
  for _, name in ipairs(members) do
    table.insert(entries, { name = name, weight = 1 })
  end
  return kumo.make_egress_pool { name = pool_name, entries = entries }
end)

kumo.on('get_egress_source', function(source_name)
  local vmta = VIRTUAL_MTAS[source_name]
  return kumo.make_egress_source {
    name = source_name,
    source_address = vmta.source_address,
    ehlo_domain = vmta.ehlo_domain,
  }
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  local directives = DOMAIN_DIRECTIVES[routing_domain] or DEFAULT_DIRECTIVES
  return kumo.make_egress_path {
    connection_limit = directives.connection_limit,
    max_deliveries_per_connection = directives.max_deliveries_per_connection,
    enable_tls = 'OpportunisticInsecure',
  }
end)
