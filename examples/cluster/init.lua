-- One node of a three-node Sterna fleet on loopback, sharing one Redis (examples/cluster/README.md).
-- Every node runs this same policy; STERNA_NODE (1, 2 or 3) picks its ports and spool, and
-- STERNA_REDIS and STERNA_SINK say where the fleet's Redis and the demo destination listen
-- (STERNA_SMTP, STERNA_HTTP and STERNA_DATA override the node's listeners and folder: the test
-- of this example runs it on ports the kernel picks).
local kumo = require 'kumo'

local NODE = tonumber(os.getenv('STERNA_NODE') or '1')
local REDIS = os.getenv('STERNA_REDIS') or 'redis://127.0.0.1:6390/'
local SINK = os.getenv('STERNA_SINK') or '127.0.0.1:2600'
local DATA = os.getenv('STERNA_DATA') or ('./data/cluster/node' .. NODE)

kumo.on('init', function()
  kumo.start_esmtp_listener { listen = os.getenv('STERNA_SMTP') or ('127.0.0.1:' .. (2525 + NODE)) }
  kumo.start_http_listener { listen = os.getenv('STERNA_HTTP') or ('127.0.0.1:' .. (8000 + NODE)) }
  kumo.define_spool { name = 'data', path = DATA .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = DATA .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = DATA .. '/logs', max_segment_duration = '10s' }
  -- Every throttle and connection limit below is now the fleet's, not this node's. A node that
  -- dies holding a connection lease gives it back after 10 seconds.
  kumo.configure_redis_throttles { node = REDIS, connection_lease_duration = '10s' }
end)

-- shared.example is the demo destination: the sink started beside the fleet.
kumo.on('get_queue_config', function(domain)
  if domain == 'shared.example' then
    return kumo.make_queue_config { protocol = { smtp = { mx_list = { SINK } } } }
  end
  return kumo.make_queue_config {}
end)

-- The provider's limits, for the whole fleet: 10 messages a minute and one connection at a time.
kumo.on('get_egress_path_config', function(domain)
  if domain == 'shared.example' then
    return kumo.make_egress_path {
      max_message_rate = '10/m',
      connection_limit = 1,
      enable_tls = 'Disabled',
      prohibited_hosts = {},
    }
  end
  return kumo.make_egress_path {}
end)
