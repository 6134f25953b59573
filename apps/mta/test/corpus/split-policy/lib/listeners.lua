local kumo = require 'kumo'
local M = {}

function M.start()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.start_http_listener { listen = '0.0.0.0:8000' }
  kumo.start_esmtp_listener { listen = '0.0.0.0:25', hostname = 'split.sender.test' }
end

return M
