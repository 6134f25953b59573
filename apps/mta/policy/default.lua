-- Sterna's embedded default policy: a loopback relay that delivers by MX.
-- SMTP on 127.0.0.1:2525, HTTP on 127.0.0.1:8000, spool and logs under ./data.
-- Only 127.0.0.1 and ::1 may relay (relay_hosts), so this is never an open relay.
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.start_esmtp_listener {
    listen = '127.0.0.1:2525',
    relay_hosts = { '127.0.0.1', '::1' },
  }
  kumo.start_http_listener {
    listen = '127.0.0.1:8000',
    trusted_hosts = { '127.0.0.1', '::1' },
  }
  kumo.define_spool { name = 'data', path = './data/spool/data' }
  kumo.define_spool { name = 'meta', path = './data/spool/meta' }
  kumo.configure_local_logs { log_dir = './data/logs', max_segment_duration = '1 minute' }
end)

-- No get_queue_config handler: every queue uses KumoMTA's defaults,
-- SMTP to the recipient domain's MX, retried from 20 minutes up to 7 days.
