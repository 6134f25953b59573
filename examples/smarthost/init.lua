-- The seed's smarthost example: mail for smarthost.example.com is relayed to the hosts of
-- mx_list, tried in order, instead of the domain's MX. Replace the two entries with your own
-- relays before running it: 'smart.host.local' is resolved for A/AAAA records, and
-- { name, addr } connects to addr without DNS and logs name.
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:2525' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
  kumo.define_spool { name = 'data', path = './data/smarthost-example/spool/data' }
  kumo.define_spool { name = 'meta', path = './data/smarthost-example/spool/meta' }
  kumo.configure_local_logs { log_dir = './data/smarthost-example/logs', max_segment_duration = '10s' }
end)

-- The seed's get_queue_config, as KumoMTA documents it.
require 'seed'
