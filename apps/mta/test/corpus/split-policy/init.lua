-- A policy split over several files, its routing table in JSON and its limits in YAML, both
-- re-read when they change (memoized, and watched by the config monitor).
local kumo = require 'kumo'
local listeners = require 'lib.listeners'
local routing = require 'lib.routing'

kumo.set_config_monitor_globs {
  '/opt/kumomta/etc/policy/*.lua',
  '/opt/kumomta/etc/policy/lib/*.lua',
  '/opt/kumomta/etc/policy/*.json',
  '/opt/kumomta/etc/policy/*.yaml',
}

kumo.on('init', function()
  listeners.start()
end)

kumo.on('get_queue_config', routing.queue_config)

kumo.on('get_egress_path_config', routing.egress_path)
