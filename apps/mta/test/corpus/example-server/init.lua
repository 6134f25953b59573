-- The shape of KumoMTA's "Example Server Policy": every helper of policy-extras, each reading
-- its own data file from /opt/kumomta/etc/policy, tenants from a header, DKIM last.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local shaping = require 'policy-extras.shaping'
local queue_module = require 'policy-extras.queue'
local listener_domains = require 'policy-extras.listener_domains'
local sources = require 'policy-extras.sources'
local dkim_sign = require 'policy-extras.dkim_sign'

-- Sending IPs and the pools that group them.
sources:setup { '/opt/kumomta/etc/policy/sources.toml' }

-- DKIM keys per signing domain.
local dkim_signer = dkim_sign:setup { '/opt/kumomta/etc/policy/dkim_data.toml' }

-- Traffic shaping, with the automation rules of shaping.toml.
local shaper = shaping:setup_with_automation {
  publish = { 'http://127.0.0.1:8008' },
  subscribe = { 'http://127.0.0.1:8008' },
  extra_files = { '/opt/kumomta/etc/policy/shaping.toml' },
}

-- Tenants, campaigns and per-domain queue settings.
local queue_helper = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data', kind = 'RocksDB' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta', kind = 'RocksDB' }

  shaper.setup_publish()

  kumo.configure_local_logs {
    log_dir = '/var/log/kumomta',
    max_segment_duration = '1 minute',
    headers = { 'Subject', 'X-Customer-ID' },
  }

  kumo.start_http_listener {
    listen = '0.0.0.0:8000',
    trusted_hosts = { '127.0.0.1', '::1' },
  }

  kumo.start_esmtp_listener {
    listen = '0.0.0.0:25',
    hostname = 'mail.brand.test',
    relay_hosts = { '127.0.0.1', '192.168.1.0/24' },
  }
end)

kumo.on('get_listener_domain', listener_domains:setup { '/opt/kumomta/etc/policy/listener_domains.toml' })

kumo.on('get_egress_path_config', shaper.get_egress_path_config)

kumo.on('smtp_server_message_received', function(msg)
  queue_helper:apply(msg)
  -- Sign last: anything changed after signing would break the signature.
  dkim_signer(msg)
end)

kumo.on('http_message_generated', function(msg)
  queue_helper:apply(msg)
  dkim_signer(msg)
end)
