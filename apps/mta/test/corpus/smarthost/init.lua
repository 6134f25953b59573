-- Everything goes through the company's outbound relays, tried in order, whatever the
-- recipient's domain: the mx_list form of the smtp protocol.
local kumo = require 'kumo'

local SMARTHOSTS = { 'relay1.corp.test', 'relay2.corp.test' }

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:25',
    hostname = 'outbound.corp.test',
    relay_hosts = { '127.0.0.1', '10.0.0.0/8' },
  }
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config {
    retry_interval = '1 min',
    max_retry_interval = '30 mins',
    protocol = { smtp = { mx_list = SMARTHOSTS } },
  }
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    enable_tls = 'OpportunisticInsecure',
    connection_limit = 4,
  }
end)
