-- A submission service: no address may relay by IP; users authenticate with AUTH PLAIN (after
-- STARTTLS) against a TOML user table, and may then send to any domain.
local kumo = require 'kumo'

local load_users = kumo.memoize(function()
  return kumo.toml_load('/opt/kumomta/etc/policy/users.toml').users
end, { name = 'submission-users', ttl = '5 minutes', capacity = 1 })

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs {
    log_dir = '/var/log/kumomta',
    max_segment_duration = '5 seconds',
    meta = { 'authn_id', 'authz_id' },
  }
  kumo.start_esmtp_listener {
    listen = '0.0.0.0:587',
    hostname = 'submit.corp.test',
    relay_hosts = {},
  }
end)

kumo.on('smtp_server_auth_plain', function(authz, authc, password, conn_meta)
  if password == '' then return false end
  local user = load_users()[authc]
  return user ~= nil and user.password == password
end)

-- Any recipient domain may be relayed to by an authenticated user.
kumo.on('get_listener_domain', function(domain, listener, conn_meta)
  local ids = {}
  for name in pairs(load_users()) do table.insert(ids, name) end
  return kumo.make_listener_domain { relay_from_authz = ids }
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path { enable_tls = 'OpportunisticInsecure' }
end)
