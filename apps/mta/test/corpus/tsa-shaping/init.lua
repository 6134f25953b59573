-- A shaping-first policy in the style of KumoMTA's init_with_tsa.lua: the shaping helper with
-- automation, one pool, everything else default. Mailbox providers are matched by their MX
-- hosts (provider blocks), single domains by name.
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local sources = require 'policy-extras.sources'

sources:setup { '/opt/kumomta/etc/policy/sources.toml' }

local shaper = shaping:setup_with_automation {
  publish = { 'http://127.0.0.1:8008' },
  subscribe = { 'http://127.0.0.1:8008' },
  extra_files = { '/opt/kumomta/etc/policy/shaping.toml' },
}

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  shaper.setup_publish()
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.start_http_listener { listen = '0.0.0.0:8000' }
  kumo.start_esmtp_listener { listen = '0.0.0.0:25', hostname = 'mta.sender.test' }
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  return kumo.make_queue_config {
    egress_pool = 'outbound',
    retry_interval = '5 mins',
    max_retry_interval = '1 hr',
    max_age = '2 days',
  }
end)

kumo.on('get_egress_path_config', shaper.get_egress_path_config)
