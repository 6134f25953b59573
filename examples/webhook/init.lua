-- Webhooks, KumoMTA-style: every log record is offered to should_enqueue_log_record, queued
-- to 'webhook', and delivered by a custom_lua connection that POSTs it as JSON.
-- Mail for maildir.example.com lands in ./data/webhook-example/maildir, so a test message
-- produces a Reception and a Delivery record, each POSTed to WEBHOOK_URL.
local kumo = require 'kumo'
local WEBHOOK_URL = os.getenv('WEBHOOK_URL') or 'http://127.0.0.1:8080/log'

kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:2525' }
  kumo.start_http_listener { listen = '127.0.0.1:8000' }
  kumo.define_spool { name = 'data', path = './data/webhook-example/spool/data' }
  kumo.define_spool { name = 'meta', path = './data/webhook-example/spool/meta' }
  kumo.configure_local_logs { log_dir = './data/webhook-example/logs', max_segment_duration = '10s' }
  kumo.configure_log_hook { name = 'webhook' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= 'webhook' then
    return false
  end
  msg:set_meta('queue', 'webhook')
  return true
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      retry_interval = '1m',
      max_retry_interval = '20m',
      protocol = {
        custom_lua = {
          constructor = 'make.webhook',
          -- up to 20 records per POST, as a JSON array
          batch_size = 20,
          max_batch_latency = '1s',
        },
      },
    }
  end
  if domain == 'maildir.example.com' then
    return kumo.make_queue_config { protocol = { maildir_path = './data/webhook-example/maildir' } }
  end
  return kumo.make_queue_config {}
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client {}
  local connection = {}

  local function post(body)
    local response = client:post(WEBHOOK_URL):header('Content-Type', 'application/json'):body(body):send()
    local disposition = string.format('%d %s: %s', response:status_code(), response:status_reason(), response:text())
    if response:status_is_success() then
      return disposition
    end
    -- 4xx: retried on the queue's schedule (1 minute, doubling up to 20 minutes)
    kumo.reject(400, disposition)
  end

  function connection:send_batch(messages)
    local records = {}
    for _, message in ipairs(messages) do
      table.insert(records, message:get_meta('log_record'))
    end
    return post(kumo.serde.json_encode(records))
  end

  return connection
end)
