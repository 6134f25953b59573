-- policy-extras.log_hooks: Sterna's own implementation of KumoMTA's log hook helper
-- (docs.kumomta.com, "Publishing Log Events Via Webhooks"). `log_hooks:new{…}` wires a log
-- hook to its own queue, `<name>.log_hook`, delivered by `custom_lua` through the constructor
-- event `make.<name>.log_hook`; `log_hooks:new_json{…}` does the same with a constructor that
-- POSTs each record as JSON (an array of records per request when batch_size > 1).
local kumo = require 'kumo'

local format, type, tostring, pairs, ipairs = string.format, type, tostring, pairs, ipairs

local mod = {}

-- The queue defaults KumoMTA's helper documents; `queue_config` merges over them.
local QUEUE_DEFAULTS = { retry_interval = '1m', max_retry_interval = '20m' }

local NEW_KEYS = {
  name = true, constructor = true, log_parameters = true, queue_config = true,
  batch_size = true, min_batch_size = true, max_batch_latency = true,
}
local JSON_KEYS = {
  name = true, url = true, log_parameters = true, queue_config = true,
  batch_size = true, min_batch_size = true, max_batch_latency = true,
}

local function check_keys(what, options, allowed)
  if type(options) ~= 'table' then error(format('%s: expected a table of options', what), 3) end
  local unknown = {}
  for k in pairs(options) do
    if not allowed[k] then unknown[#unknown + 1] = tostring(k) end
  end
  if #unknown > 0 then
    table.sort(unknown)
    error(format('%s: unknown option%s %s', what, #unknown > 1 and 's' or '', table.concat(unknown, ', ')), 3)
  end
  if type(options.name) ~= 'string' or options.name == '' then
    error(format('%s: name is required (a string)', what), 3)
  end
end

local function copy(t)
  local out = {}
  for k, v in pairs(t or {}) do out[k] = v end
  return out
end

--- `log_hooks:new{name, constructor, log_parameters, queue_config, batch_size, min_batch_size,
--- max_batch_latency}`.
function mod:new(options)
  check_keys('log_hooks:new', options, NEW_KEYS)
  if type(options.constructor) ~= 'function' then
    error('log_hooks:new: constructor is required (a function returning the connection object)', 2)
  end
  local name = options.name
  local queue = name .. '.log_hook'
  local event = 'make.' .. queue

  -- Checked now, so a mistake names the option at load time rather than at the first record.
  local queue_params = copy(QUEUE_DEFAULTS)
  for k, v in pairs(options.queue_config or {}) do queue_params[k] = v end
  local custom_lua = { constructor = event }
  for _, k in ipairs({ 'batch_size', 'min_batch_size', 'max_batch_latency' }) do
    if options[k] ~= nil then custom_lua[k] = options[k] end
  end
  queue_params.protocol = { custom_lua = custom_lua }
  kumo.make_queue_config(copy(queue_params))

  local hook = copy(options.log_parameters)
  hook.name = name
  -- pre_init takes several handlers, so the helper can be set up beside the policy's own init.
  kumo.on('pre_init', function() kumo.configure_log_hook(hook) end)

  kumo.on('should_enqueue_log_record', function(msg, hook_name)
    if hook_name ~= name then return nil end
    local record = msg:get_meta('log_record')
    -- A record of this hook's own deliveries is not hooked again (no loop).
    if type(record) == 'table' and record.queue == queue then return false end
    msg:set_meta('queue', queue)
    return true
  end)

  kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
    if domain ~= queue then return nil end
    return kumo.make_queue_config(copy(queue_params))
  end)

  kumo.on(event, options.constructor)
end

local function json_connection(url, batched)
  return function(domain, tenant, campaign)
    local client = kumo.http.build_client {}
    local connection = {}

    local function post(body)
      local response = client:post(url):header('Content-Type', 'application/json'):body(body):send()
      local status = response:status_code()
      local disposition = format('%d %s: %s', status, response:status_reason(), response:text())
      if response:status_is_success() then return disposition end
      -- A server error or a 429 may pass: retried later; any other answer is final.
      if status >= 500 or status == 429 then kumo.reject(400, disposition) end
      kumo.reject(500, disposition)
    end

    if batched then
      function connection:send_batch(messages)
        local records = {}
        for i, msg in ipairs(messages) do records[i] = msg:get_meta('log_record') end
        return post(kumo.serde.json_encode(records))
      end
    else
      function connection:send(message) return post(message:get_data()) end
    end
    function connection:close() client:close() end
    return connection
  end
end

--- `log_hooks:new_json{name, url, log_parameters, queue_config, batch_size, …}`: each record is
--- POSTed to `url` as `application/json` (the record's JSON; with batch_size > 1, a JSON array of
--- the batch's records). 2xx is delivered; 5xx and 429 are retried; other statuses bounce.
function mod:new_json(options)
  check_keys('log_hooks:new_json', options, JSON_KEYS)
  if type(options.url) ~= 'string' or options.url == '' then
    error('log_hooks:new_json: url is required (a string)', 2)
  end
  local params = copy(options)
  params.url = nil
  params.constructor = json_connection(options.url, (options.batch_size or 1) > 1)
  return mod:new(params)
end

return mod
