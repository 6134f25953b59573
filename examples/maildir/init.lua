-- The seed's Maildir example, ready to run: mail for maildir.example.com is stored in
-- /var/tmp/kumo-maildir; anything else goes by SMTP to the domain's MX.
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:2525' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
  kumo.define_spool { name = 'data', path = './data/maildir-example/spool/data' }
  kumo.define_spool { name = 'meta', path = './data/maildir-example/spool/meta' }
  kumo.configure_local_logs { log_dir = './data/maildir-example/logs', max_segment_duration = '10s' }
end)

-- The seed's get_queue_config, as KumoMTA documents it.
require 'seed'
