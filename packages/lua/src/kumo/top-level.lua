-- The top-level functions of the `kumo` module: print and logs, sleep, make_* (validated in
-- TypeScript) and the configuration calls handed to the daemon.
local H, kumo = ...
local tostring, select, ipairs = tostring, select, ipairs
local concat = table.concat

local function join(sep, ...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return concat(parts, sep)
end

function print(...) H.print(join('\t', ...)) end

for _, level in ipairs({ 'error', 'warn', 'info', 'debug' }) do
  kumo['log_' .. level] = function(...) H.log(level, join(' ', ...)) end
end

function kumo.sleep(seconds) H.sleep(seconds):await() end
function kumo.available_parallelism() return H.available_parallelism() end

-- make_* validate in TypeScript (unknown keys, types, durations) and hand the table back.
for _, kind in ipairs({ 'queue_config', 'egress_path', 'egress_pool', 'egress_source', 'listener_domain' }) do
  kumo['make_' .. kind] = function(params)
    H.validate(kind, params)
    return params
  end
end

-- Configuration calls are validated, then handed to the daemon (which may refuse them).
local function configure(kind)
  return function(params)
    H.configure(kind, params):await()
  end
end
kumo.start_esmtp_listener = configure('esmtp_listener')
kumo.start_http_listener = configure('http_listener')
kumo.define_spool = configure('spool')
kumo.configure_local_logs = configure('local_logs')
kumo.configure_log_hook = configure('log_hook')
kumo.configure_bounce_classifier = configure('bounce_classifier')
kumo.configure_accounting_db_path = function(path) H.configure('accounting_db_path', { path = path }):await() end
kumo.configure_redis_throttles = configure('redis_throttles')
kumo.set_diagnostic_log_filter = function(filter) H.configure('diagnostic_log_filter', { filter = filter }):await() end

-- Configuration monitoring: the globs of files whose change reloads the policy, an epoch bump
-- (which also empties this context's memoize caches made with invalidate_with_epoch at once),
-- and the mark a validate_config handler leaves for `--validate` to report a failure.
kumo.set_config_monitor_globs = function(globs) H.configure('config_monitor_globs', { globs = globs }):await() end
kumo.bump_config_epoch = function()
  H.note_config_epoch_bump()
  H.configure('config_epoch_bump', {}):await()
end
kumo.validation_failed = function() H.configure('validation_failed', {}):await() end

-- Sterna's own (not KumoMTA's): policy-extras.shaping hands the automation rules it read to the
-- daemon with this; the leading underscores mark it internal to the helpers.
kumo.__configure_shaping_automation = configure('shaping_automation')
