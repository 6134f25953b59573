-- The older webhook pattern, without the helper: a log hook feeds every record into a queue
-- named 'webhook', whose custom_lua connection posts each one to a web service.
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '5 seconds' }
  kumo.configure_log_hook { name = 'webhook', headers = { 'Subject' } }
  kumo.start_esmtp_listener { listen = '0.0.0.0:25', hostname = 'mta.sender.test' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  -- Do not post the records of the webhook's own deliveries.
  if record.reception_protocol == 'LogRecord' then return false end
  if hook_name == 'webhook' then
    msg:set_meta('queue', 'webhook')
    return true
  end
  return false
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client {}
  local sender = {}

  function sender:send(msg)
    local response = client
      :post('http://10.0.0.1:4242/events')
      :header('Content-Type', 'application/json')
      :body(msg:get_data())
      :send()
    local disposition = string.format('%d %s: %s', response:status_code(), response:status_reason(), response:text())
    if response:status_is_success() then return disposition end
    kumo.reject(500, disposition)
  end

  function sender:close()
    client:close()
  end

  return sender
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      retry_interval = '1 min',
      max_retry_interval = '20 mins',
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
  return kumo.make_queue_config {}
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path { enable_tls = 'OpportunisticInsecure' }
end)
