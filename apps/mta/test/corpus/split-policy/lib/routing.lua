local kumo = require 'kumo'
local M = {}

local load_routes = kumo.memoize(function()
  return kumo.serde.json_load '/opt/kumomta/etc/policy/routes.json'
end, { name = 'split-policy-routes', ttl = '1 minute', capacity = 4 })

local load_limits = kumo.memoize(function()
  return kumo.serde.yaml_load '/opt/kumomta/etc/policy/limits.yaml'
end, { name = 'split-policy-limits', ttl = '1 minute', capacity = 4 })

function M.queue_config(domain, tenant, campaign, routing_domain)
  local route = load_routes()[domain]
  if route and route.maildir then
    return kumo.make_queue_config { protocol = { maildir_path = route.maildir } }
  end
  return kumo.make_queue_config { retry_interval = load_limits().retry_interval }
end

function M.egress_path(routing_domain, egress_source, site_name)
  local limits = load_limits()
  return kumo.make_egress_path {
    connection_limit = limits.connection_limit,
    enable_tls = 'OpportunisticInsecure',
  }
end

return M
