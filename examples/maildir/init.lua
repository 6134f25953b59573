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

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'maildir.example.com' then
    -- Store this domain into a maildir, rather than attempting
    -- to deliver via SMTP
    return kumo.make_queue_config {
      protocol = {
        maildir_path = '/var/tmp/kumo-maildir',
      },
    }
  end
  -- Otherwise, just use the defaults
  return kumo.make_queue_config {}
end)
