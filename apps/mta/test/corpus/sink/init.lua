-- A sink for load tests: accept any recipient at any domain from anywhere on the test network
-- and throw the message away after logging its reception.
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '1 second' }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:25',
    hostname = 'sink.test',
    relay_hosts = { '0.0.0.0/0' },
    banner = 'sink ready',
  }
end)

kumo.on('get_listener_domain', function(domain, listener, conn_meta)
  return kumo.make_listener_domain { relay_to = true }
end)

kumo.on('smtp_server_message_received', function(msg)
  msg:set_meta('queue', 'null')
end)
