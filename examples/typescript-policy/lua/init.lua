-- The Lua policy src/policy.ts was translated from, kept for the comparison in
-- docs/typescript-policies.md: policy-extras helpers over the data files in ../data, and two
-- handlers of its own. Run it with `pnpm sterna --policy examples/typescript-policy/lua/init.lua`.
local kumo = require 'kumo'
local queue_module = require 'policy-extras.queue'
local sources = require 'policy-extras.sources'
local shaping = require 'policy-extras.shaping'

local DATA = os.getenv('STERNA_EXAMPLE_DIR') or './data/typescript-example'
local HERE = debug.getinfo(1, 'S').source:match('^@(.*)/lua/[^/]*$') .. '/data/'

kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:2525', relay_hosts = { '127.0.0.1' } }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
  kumo.define_spool { name = 'data', path = DATA .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = DATA .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = DATA .. '/logs' }
end)

sources:setup { HERE .. 'sources.toml' }
local queue_helper = queue_module:setup { HERE .. 'queues.toml' }
local shaper = shaping:setup_with_automation { extra_files = { HERE .. 'shaping.toml' } }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)

local BLOCKED = { ['spam.example'] = true }
kumo.on('smtp_server_mail_from', function(sender, conn_meta)
  if BLOCKED[sender.domain:lower()] then
    kumo.reject(550, '5.7.1 mail from ' .. sender.domain .. ' is not accepted here')
  end
end)

kumo.on('smtp_server_message_received', function(msg, conn_meta)
  queue_helper:apply(msg)
  -- Remember which listener took the message, for the logs.
  msg:set_meta('x_received_via', 'smtp')
end)

kumo.on('http_message_generated', function(msg)
  queue_helper:apply(msg)
  msg:set_meta('x_received_via', 'http')
end)
