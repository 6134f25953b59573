-- policy-extras.queue: Sterna's implementation of KumoMTA's queue helper (queues.toml).
--
--   local queue_module = require 'policy-extras.queue'
--   local queue_helper = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }
--   kumo.on('smtp_server_message_received', function(msg) queue_helper:apply(msg) end)
--
-- The data (TOML, JSON or YAML by extension, or a Lua table), several files merged in order:
--
--   scheduling_header = 'X-Schedule'         -- msg:import_scheduling_header (header removed
--   remove_scheduling_header = true          --   unless this is false; a Sterna addition)
--   tenant_header = 'X-Tenant'               -- tenant meta from this header …
--   remove_tenant_header = true              -- … which is then removed
--   campaign_header = 'X-Campaign'           -- likewise for the campaign
--   remove_campaign_header = true
--   default_tenant = 'default-tenant'        -- when the header is absent
--   [tenant.'name']                          -- queue config for the tenant, and
--   require_authz = ['user']                 --   who may select it through the header
--   [queue.default]                          -- queue config for every queue
--   [queue.'domain']                         -- … for a destination domain (`*.x` wildcards);
--   routing_domain = '[10.0.0.1]'            --   apply() sets routing_domain meta from it
--   [queue.'domain'.'tenant']                -- … for that domain and tenant
--   [queue.'domain'.'tenant'.'campaign']     -- … and campaign
--
-- Queue config keys are those of kumo.make_queue_config (protocol included). For a queue, the
-- layers are merged key by key, later winning: queue.default, queue.'domain', tenant.'t',
-- queue.default.'t', queue.'domain'.'t', queue.default.'t'.'c', queue.'domain'.'t'.'c'.
--
-- overall_max_message_rate caps the combined flow of every scheduled queue in the scope of the
-- entry that sets it, not each queue (KumoMTA's option of that name):
--
--   [tenant.'t']                             -- every message of tenant t
--   [tenant.'t'.campaigns.'c']               -- … of campaign c of tenant t (this entry takes
--                                            --   only overall_max_message_rate)
--   [queue.'domain']                         -- every message to the domain (a `*.x` entry is
--                                            --   one scope for all the names it matches)
--   [queue.'domain'.'t']                     -- … of tenant t to the domain
--   [queue.'domain'.'t'.'c']                 -- … of campaign c of tenant t to the domain
--
-- queue.default and the entries below it take none: they are defaults for each queue, not a
-- scope. When the data sets any, setup registers a throttle_insert_ready_queue handler that
-- checks one kumo.make_throttle per scope the message's queue is in (named
-- queue-helper-overall-<kind>-<scope>), and holds the message with
-- throttle:delay_message_if_throttled when one is over its rate. The value also stays in the
-- queue's make_queue_config table, as KumoMTA's helper leaves it.
local kumo = require 'kumo'
local support = require 'policy-extras.helper_support'

local mod = {}

local type, pairs, ipairs, tostring, pcall = type, pairs, ipairs, tostring, pcall
local format, lower = string.format, string.lower

local WHAT = 'queue helper'
local OVERALL = 'overall_max_message_rate'

-- Top-level keys and their types.
local OPTIONS = {
  scheduling_header = 'string',
  remove_scheduling_header = 'boolean',
  tenant_header = 'string',
  remove_tenant_header = 'boolean',
  campaign_header = 'string',
  remove_campaign_header = 'boolean',
  default_tenant = 'string',
}

-- make_queue_config keys whose value is a table (every other table in a queue entry is a
-- tenant or campaign entry below it).
local TABLE_PARAMS = { protocol = true, shrink_policy = true }

local function new_node(path)
  return { path = path, params = {}, origin = {}, children = {} }
end

-- `[tenant.'t'.campaigns]`: campaign entries of a tenant, each read for OVERALL only.
local function merge_campaigns(node, value, label, problems)
  local path = support.key(node.path, 'campaigns')
  support.each_entry(value, path, label, problems, 'a table of campaign keys',
    function(name, entry, at)
      node.campaigns = node.campaigns or {}
      local campaign = node.campaigns[name]
      if campaign == nil then
        campaign = new_node(at)
        node.campaigns[name] = campaign
      end
      campaign.file = label
      for key, v in pairs(entry) do
        key = tostring(key)
        campaign.params[key], campaign.origin[key] = v, label
      end
    end)
end

-- Merges one entry of one file into `node`. `depth` 1 = domain (children are tenants),
-- 2 = tenant under a domain (children are campaigns), 3 = campaign, 0 = [tenant.'x'].
local function merge_entry(node, entry, label, depth, problems)
  node.file = label
  for key, value in pairs(entry) do
    key = tostring(key)
    if depth == 0 and key == 'campaigns' then
      merge_campaigns(node, value, label, problems)
    elseif depth == 0 and key == 'require_authz' then
      local ok = support.is_array(value) or (type(value) == 'table' and next(value) == nil)
      if ok then
        for _, v in ipairs(value) do ok = ok and type(v) == 'string' end
      end
      if ok then
        node.require_authz = value
      else
        problems.add(label, support.key(node.path, 'require_authz'), 'expected an array of strings')
      end
    elseif depth >= 1 and key == 'routing_domain' then
      if type(value) == 'string' then
        node.routing_domain, node.routing_origin = value, label
      else
        problems.add(label, support.key(node.path, 'routing_domain'),
          'expected a string, got ' .. type(value))
      end
    elseif depth >= 1 and depth <= 2 and type(value) == 'table' and not TABLE_PARAMS[key]
      and not support.is_array(value) then
      local child = node.children[key]
      if child == nil then
        child = new_node(support.entry(node.path, key))
        node.children[key] = child
      end
      merge_entry(child, value, label, depth + 1, problems)
    else
      node.params[key] = value
      node.origin[key] = label
    end
  end
end

local function refuse(node, key, why, problems)
  node.bad[key] = why
  problems.add(node.origin[key], support.key(node.path, key), why)
end

-- Checks every queue config key of a node (and its children) on its own with
-- kumo.make_queue_config; a refused key is kept in node.bad and listed in `problems`. Under
-- queue.default (`default` true), overall_max_message_rate names no scope and is refused.
local function check_node(node, problems, default)
  support.check_entry('make_queue_config', node, problems)
  if default and node.params[OVERALL] ~= nil and not node.bad[OVERALL] then
    refuse(node, OVERALL, "not read under queue.default, whose entries are defaults for each "
      .. "queue: a combined rate needs a scope (tenant.'t', tenant.'t'.campaigns.'c' or "
      .. "queue.'<domain>')", problems)
  end
  for _, child in pairs(node.children) do check_node(child, problems, default) end
  for _, campaign in pairs(node.campaigns or {}) do
    campaign.bad = {}
    for key, value in pairs(campaign.params) do
      local why
      if key ~= OVERALL then
        why = "unknown key (a tenant's campaigns take only overall_max_message_rate; queue "
          .. "config for a campaign goes in queue.default.'t'.'c' or queue.'<domain>'.'t'.'c')"
      else
        why = support.check_key('make_queue_config', key, value)
      end
      if why then refuse(campaign, key, why, problems) end
    end
  end
end

-- True when any entry sets overall_max_message_rate.
local function any_overall(nodes)
  for _, node in pairs(nodes) do
    if node.params[OVERALL] ~= nil or any_overall(node.children) then return true end
    if node.campaigns and any_overall(node.campaigns) then return true end
  end
  return false
end

-- Reads and merges the data files: { options, option_origin, tenants = {name = node},
-- queues = {domain = node}, by_domain = (a kumo.domain_map of queues) }, the problems that stop
-- every use, and the problems of single keys.
local function compile(files)
  local fatal = support.problems()
  local data = {
    options = {},
    option_origin = {},
    tenants = {},
    queues = {},
  }
  for _, file in ipairs(support.load_all(files, fatal)) do
    local label = file.label
    for key, value in pairs(file.data) do
      key = tostring(key)
      if OPTIONS[key] then
        if type(value) == OPTIONS[key] then
          data.options[key], data.option_origin[key] = value, label
        else
          fatal.add(label, key, format('expected a %s, got %s', OPTIONS[key], type(value)))
        end
      elseif key == 'tenant' or key == 'queue' then
        support.each_entry(value, key, label, fatal, 'a table of queue config keys',
          function(name, entry, path)
            if key == 'tenant' then
              data.tenants[name] = data.tenants[name] or new_node(path)
              merge_entry(data.tenants[name], entry, label, 0, fatal)
            else
              local domain = lower(name)
              data.queues[domain] = data.queues[domain] or new_node(path)
              data.queues[domain].name = domain
              merge_entry(data.queues[domain], entry, label, 1, fatal)
            end
          end)
      else
        fatal.add(label, support.quote(key), 'unknown key')
      end
    end
  end
  local entries = support.problems()
  for _, node in pairs(data.tenants) do check_node(node, entries) end
  for name, node in pairs(data.queues) do check_node(node, entries, name == 'default') end
  data.has_overall = any_overall(data.tenants) or any_overall(data.queues)
  -- `queue.'*.example.com'` answers for every name below example.com.
  data.by_domain = kumo.domain_map.new(data.queues)
  return data, fatal.list, entries.list
end

local function child(node, name)
  if node == nil or name == nil then return nil end
  return node.children[name]
end

-- The merged queue config params for a queue, the routing domain, and the entries used.
local function resolve(data, domain, tenant, campaign)
  if tenant == '' then tenant = nil end
  if campaign == '' then campaign = nil end
  local default = data.queues['default']
  local by_domain = data.by_domain[domain]
  if by_domain == default then by_domain = nil end
  local default_t, domain_t = child(default, tenant), child(by_domain, tenant)
  local layers = {
    default,
    by_domain,
    tenant and data.tenants[tenant],
    default_t,
    domain_t,
    child(default_t, campaign),
    child(domain_t, campaign),
  }
  local params, routing_domain, used = {}, nil, {}
  for i = 1, 7 do
    local node = layers[i]
    if node then
      used[#used + 1] = node
      for key, value in pairs(node.params) do params[key] = value end
      if node.routing_domain then routing_domain = node.routing_domain end
    end
  end
  return params, routing_domain, used
end

local function make_config(used, params)
  -- Only a refused key that won the merge stops this queue.
  support.raise_refused(WHAT, used, params)
  local ok, config = pcall(kumo.make_queue_config, params)
  if ok then return config end
  local names = {}
  for i, node in ipairs(used) do names[i] = node.path end
  support.raise(WHAT, {
    { file = 'merged from ' .. table.concat(names, ', '), path = nil, text = support.reason(config) },
  })
end

-- Queues other helpers own by name: the log_hooks helper's `<name>.log_hook` queues get their
-- config from it (registered after this one, it would never be asked otherwise), unless the
-- data names such a queue itself.
local FOREIGN_SUFFIXES = { '.log_hook' }

local function handles(data, domain)
  if type(domain) ~= 'string' then return true end
  local name = lower(domain)
  for _, suffix in ipairs(FOREIGN_SUFFIXES) do
    if name:sub(-#suffix) == suffix then return data.queues[name] ~= nil end
  end
  return true
end

-- A scheduled queue name's domain, tenant and campaign, as the daemon splits it for
-- get_queue_config: `campaign:tenant@domain!routing_domain`; a name without `@` is all domain.
local function queue_parts(name)
  local prefix, rest = name:match('^([^@]*)@(.*)$')
  if prefix == nil then rest = name end
  local tenant, campaign
  if prefix ~= nil then
    campaign, tenant = prefix:match('^([^:]*):(.*)$')
    if campaign == nil then tenant = prefix end
  end
  if tenant == '' then tenant = nil end
  if campaign == '' then campaign = nil end
  return rest:match('^[^!]*'), tenant, campaign
end

-- The overall_max_message_rate throttles a message of queue `name` is subject to, in the order
-- they are checked: { name, spec } each. Raises (in the helper's words) when an entry that
-- applies holds a refused value.
local function overall_throttles(data, name)
  local domain, tenant, campaign = queue_parts(name)
  if not handles(data, domain) then return {} end
  local list, problems = {}, support.problems()
  local function add(node, key, throttle_name)
    if node == nil or node.params[key] == nil then return end
    if node.bad[key] then
      problems.add(node.origin[key], support.key(node.path, key), node.bad[key])
    else
      list[#list + 1] = { name = 'queue-helper-overall-' .. throttle_name, spec = node.params[key] }
    end
  end
  local t = tenant and data.tenants[tenant]
  if t then
    add(t, OVERALL, 'tenant-' .. tenant)
    local c = campaign and t.campaigns and t.campaigns[campaign]
    if c then
      for key in pairs(c.bad) do
        if key ~= OVERALL then problems.add(c.origin[key], support.key(c.path, key), c.bad[key]) end
      end
      add(c, OVERALL, format('campaign-%s:%s', campaign, tenant))
    end
  end
  local d = data.by_domain[domain]
  if d ~= nil and d ~= data.queues['default'] then
    add(d, OVERALL, 'domain-' .. d.name)
    local dt = child(d, tenant)
    add(dt, OVERALL, format('domain-tenant-%s@%s', tenant, d.name))
    add(child(dt, campaign), OVERALL, format('domain-campaign-%s:%s@%s', campaign, tenant, d.name))
  end
  support.raise(WHAT, problems.list)
  return list
end

local function header_value(msg, name, remove)
  local value = msg:get_first_named_header_value(name)
  if remove then msg:remove_all_named_headers(name) end
  if value == nil then return nil end
  value = tostring(value):match('^%s*(.-)%s*$')
  if value == '' then return nil end
  return value
end

-- Cross-checks for validate_config: tenants named but not defined, pools not defined by the
-- sources helper (when it is set up).
local function cross_check(data, problems)
  local has_tenants = next(data.tenants) ~= nil
  local default_tenant = data.options.default_tenant
  if default_tenant and not data.tenants[default_tenant] then
    problems.add(data.option_origin.default_tenant, 'default_tenant',
      format("tenant '%s' is not defined (no [tenant.'%s'])", default_tenant, default_tenant))
  end
  local pools
  local ok, sources = pcall(require, 'policy-extras.sources')
  if ok and type(sources) == 'table' and type(sources.defined_pools) == 'function' then
    pools = sources:defined_pools()
  end
  local function check_pool(node)
    local pool = node.params.egress_pool
    if pools and type(pool) == 'string' and not pools[pool] then
      problems.add(node.origin.egress_pool, support.key(node.path, 'egress_pool'),
        format("egress pool '%s' is not defined by the sources helper", pool))
    end
  end
  for _, node in pairs(data.tenants) do check_pool(node) end
  for _, node in pairs(data.queues) do
    check_pool(node)
    for tenant, t in pairs(node.children) do
      if has_tenants and not data.tenants[tenant] then
        problems.add(t.file, t.path,
          format("tenant '%s' is not defined (no [tenant.'%s'])", tenant, tenant))
      end
      check_pool(t)
      for _, c in pairs(t.children) do check_pool(c) end
    end
  end
end

--- Reads `files` (cached for 5 minutes, and again after a configuration epoch), registers
--- `get_queue_config`, `validate_config` and, when the data sets any `overall_max_message_rate`,
--- `throttle_insert_ready_queue`; returns the helper whose `:apply(msg)` sets tenant, campaign,
--- scheduling and routing domain from the message.
function mod:setup(files)
  files = support.file_list(files, 'queue')
  local data_or_raise = support.data_source(WHAT, 'policy-extras.queue', files, compile,
    { check = cross_check })

  kumo.on('get_queue_config', function(domain, tenant, campaign, _routing_domain)
    local data = data_or_raise()
    if not handles(data, domain) then return nil end
    local params, _, used = resolve(data, domain, tenant, campaign)
    return make_config(used, params)
  end)

  -- The data is read now to decide: without a rate to enforce, the daemon need not call into
  -- Lua for every message that moves to a ready queue. A configuration epoch loads the policy
  -- again, so the decision is made again with the file as it then is. Data that does not load
  -- registers nothing (validate_config and get_queue_config report it).
  local loaded, data = pcall(data_or_raise)
  if loaded and data.has_overall then
    -- Returns nothing, so the handlers registered after this one are called too.
    kumo.on('throttle_insert_ready_queue', function(msg)
      local current = data_or_raise()
      if not current.has_overall then return end
      for _, throttle in ipairs(overall_throttles(current, msg:queue_name())) do
        -- Held by one: the others are not counted for a message that does not move now.
        if kumo.make_throttle(throttle.name, throttle.spec):delay_message_if_throttled(msg) then
          return
        end
      end
    end)
  end

  local helper = {}

  --- Sets the message's tenant, campaign, scheduling and routing domain as the data says.
  --- An unknown tenant, or a tenant whose `require_authz` does not list the client's
  --- authorization identity, rejects the message (`kumo.reject(500, …)`).
  function helper:apply(msg)
    local data = data_or_raise()
    local o = data.options
    if o.scheduling_header then
      msg:import_scheduling_header(o.scheduling_header, o.remove_scheduling_header ~= false)
    end

    local tenant, from_header
    if o.tenant_header then
      tenant = header_value(msg, o.tenant_header, o.remove_tenant_header)
      from_header = tenant ~= nil
    end
    if tenant == nil and msg:get_meta('tenant') == nil then tenant = o.default_tenant end
    if tenant ~= nil then
      local entry = data.tenants[tenant]
      if entry == nil then kumo.reject(500, format('tenant %s is not configured', tenant)) end
      if from_header and entry.require_authz then
        local authz = msg:get_meta('authz_id')
        local allowed = false
        for _, who in ipairs(entry.require_authz) do allowed = allowed or who == authz end
        if not allowed then
          kumo.reject(500, format('%s is not authorized to use tenant %s',
            authz and format("'%s'", tostring(authz)) or 'an unauthenticated client', tenant))
        end
      end
      msg:set_meta('tenant', tenant)
    end

    if o.campaign_header then
      local campaign = header_value(msg, o.campaign_header, o.remove_campaign_header)
      if campaign ~= nil then msg:set_meta('campaign', campaign) end
    end

    local recipient = msg:recipient()
    local domain = recipient and recipient.domain
    local _, routing_domain = resolve(data, domain, msg:get_meta('tenant'), msg:get_meta('campaign'))
    if routing_domain ~= nil then msg:set_meta('routing_domain', routing_domain) end
  end

  return helper
end

return mod
