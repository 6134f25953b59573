-- Inbound mail for hosted domains, written into one Maildir per domain. Nobody may relay:
-- only the domains listed in listener_domains.toml are accepted.
local kumo = require 'kumo'
local listener_domains = require 'policy-extras.listener_domains'
local queue_module = require 'policy-extras.queue'

local queue_helper = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:25',
    hostname = 'mx.hosting.test',
    relay_hosts = {},
  }
end)

kumo.on('get_listener_domain', listener_domains:setup { '/opt/kumomta/etc/policy/listener_domains.toml' })

kumo.on('smtp_server_message_received', function(msg)
  queue_helper:apply(msg)
end)
