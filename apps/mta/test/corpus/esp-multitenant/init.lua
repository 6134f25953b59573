-- A multi-tenant ESP: each customer is a tenant (X-Tenant), each campaign a campaign
-- (X-Campaign); tenants send from their own pools and sign with their own domains.
local kumo = require 'kumo'
local queue_module = require 'policy-extras.queue'
local sources = require 'policy-extras.sources'
local dkim_sign = require 'policy-extras.dkim_sign'
local shaping = require 'policy-extras.shaping'

sources:setup { '/opt/kumomta/etc/policy/sources.toml' }
local dkim_signer = dkim_sign:setup { '/opt/kumomta/etc/policy/dkim_data.toml' }
local get_shaping_config = shaping:setup { '/opt/kumomta/etc/policy/shaping.toml' }
local queue_helper = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs {
    log_dir = '/var/log/kumomta',
    max_segment_duration = '5 seconds',
    meta = { 'tenant', 'campaign' },
  }
  kumo.start_http_listener { listen = '0.0.0.0:8000' }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:587',
    hostname = 'smtp.esp.test',
    relay_hosts = { '127.0.0.1' },
    max_message_size = 10485760,
  }
end)

kumo.on('get_egress_path_config', get_shaping_config)

kumo.on('smtp_server_message_received', function(msg)
  queue_helper:apply(msg)
  dkim_signer(msg)
end)

kumo.on('http_message_generated', function(msg)
  queue_helper:apply(msg)
  dkim_signer(msg)
end)
