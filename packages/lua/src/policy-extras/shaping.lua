-- policy-extras.shaping: Sterna's own implementation of KumoMTA's traffic shaping helper
-- (docs.kumomta.com, "Traffic Shaping"). It reads shaping files (TOML or JSON) and answers
-- get_egress_path_config(domain, egress_source, site_name) with the merged options:
--   default -> provider -> provider+source -> site-name (mx_rollup) -> domain (mx_rollup=false)
--   -> site-name+source -> domain+source, each step in file order, `replace_base` restarting.
-- Automation rules are checked here and handed to the daemon (configure kind
-- `shaping_automation` at pre_init, and the event `sterna.shaping_automation_rules` after a
-- reload); Sterna runs them itself, so no TSA daemon is needed. A provider's provider_* limits
-- become entries of the additional_* maps, which merge key by key as in KumoMTA.
local kumo = require 'kumo'
local support = require 'policy-extras.helper_support'
local utils = require 'policy-extras.policy_utils'

local format, type, tostring, pairs, ipairs = string.format, type, tostring, pairs, ipairs
local key = support.key

local WHAT = 'shaping helper'

local _, MODULE_PATH = ...
local HERE = type(MODULE_PATH) == 'string' and MODULE_PATH:match('^(.*)[/\\][^/\\]*$') or '.'

local mod = {}

--- Sterna's own default shaping file, loaded unless `no_default_files`.
mod.DEFAULT_FILE = HERE .. '/shaping.toml'

-- KumoMTA's packaged files: a policy that names them gets Sterna's default file in place of
-- the first; the community file is skipped (with a warning) when it is not installed.
local KUMO_DEFAULT = '/opt/kumomta/share/policy-extras/shaping.toml'
local KUMO_COMMUNITY = '/opt/kumomta/share/community/shaping.toml'

-- KumoMTA merges these maps key by key across blocks and files; every other key replaces.
local MERGED_MAPS = {
  additional_connection_limits = true,
  additional_message_rate_throttles = true,
  additional_source_selection_rates = true,
}
-- A provider's own keys, each checked as the egress path key it becomes.
local PROVIDER_KEYS = {
  provider_connection_limit = 'connection_limit',
  provider_max_message_rate = 'max_message_rate',
  provider_source_selection_rate = 'source_selection_rate',
}
local ACTIONS = {
  Suspend = true, SuspendTenant = true, SuspendCampaign = true,
  Bounce = true, BounceTenant = true, BounceCampaign = true,
}
local RULE_KEYS = { regex = true, action = true, trigger = true, duration = true, match_internal = true }
local MATCH_KINDS = { MXSuffix = true, DomainSuffix = true, HostName = true }

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function sorted_keys(t)
  local names = {}
  for k in pairs(t) do names[#names + 1] = k end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  return names
end

-- Every per-path key goes through kumo.make_egress_path, whose error names the bad key.
local function check_path(params, file, section, problems)
  local ok, err = pcall(kumo.make_egress_path, copy(params))
  if not ok then problems.add(file, section, support.reason(err)) end
end

-- A provider key checked as the path key it stands for; the problem names the key as written.
local function check_provider_key(name, value, file, section, problems)
  local as = PROVIDER_KEYS[name]
  local ok, err = pcall(kumo.make_egress_path, { [as] = value })
  if not ok then
    local why = support.reason(err):gsub('^' .. as .. ':%s*', '')
    problems.add(file, key(section, name), why)
  end
end

local function check_duration(value, file, section, problems)
  local ok, err = pcall(kumo.make_queue_config, { retry_interval = value })
  if not ok then
    local why = support.reason(err):gsub('^retry_interval:%s*', ''):gsub('^duration:%s*', '')
    problems.add(file, section, format('invalid duration %q (%s)', tostring(value), why))
  end
end

local function check_rule(rule, file, section, problems)
  if type(rule) ~= 'table' then
    problems.add(file, section, 'expected an automation rule table')
    return nil
  end
  support.known_keys(problems, file, section, rule, RULE_KEYS)
  if type(rule.regex) ~= 'string' then
    problems.add(file, key(section, 'regex'), 'required string is missing')
  else
    -- Rust regex syntax, as the daemon will match it (kumo.regex translates and refuses).
    local ok, err = pcall(kumo.regex.compile, rule.regex)
    if not ok then
      problems.add(file, key(section, 'regex'), format('invalid regex %q: %s', rule.regex, support.reason(err)))
    end
  end
  local action = rule.action
  if type(action) == 'string' then
    if not ACTIONS[action] then
      problems.add(file, key(section, 'action'), format('unknown action %q', action))
    end
  elseif type(action) == 'table' then
    local kind, count = nil, 0
    for k in pairs(action) do kind, count = k, count + 1 end
    local body = kind and action[kind]
    if count ~= 1 or (kind ~= 'SetConfig' and kind ~= 'SetDomainConfig') then
      problems.add(file, key(section, 'action'), 'expected one of SetConfig or SetDomainConfig')
    elseif type(body) ~= 'table' or type(body.name) ~= 'string' or body.value == nil then
      problems.add(file, key(section, 'action', kind), 'expected {name=..., value=...}')
    else
      support.known_keys(problems, file, key(section, 'action', kind), body, { name = true, value = true })
      check_path({ [body.name] = body.value }, file, key(section, 'action', kind), problems)
    end
  else
    problems.add(file, key(section, 'action'), 'required action is missing')
  end
  local trigger = rule.trigger
  if trigger ~= nil and trigger ~= 'Immediate' then
    if type(trigger) ~= 'table' or type(trigger.Threshold) ~= 'string' then
      problems.add(file, key(section, 'trigger'), "expected 'Immediate' or {Threshold='10/hr'}")
    else
      support.known_keys(problems, file, key(section, 'trigger'), trigger, { Threshold = true })
      local ok, err = pcall(kumo.make_egress_path, { max_message_rate = trigger.Threshold })
      if not ok then
        problems.add(file, key(section, 'trigger', 'Threshold'), support.reason(err))
      end
    end
  end
  if rule.duration == nil then
    problems.add(file, key(section, 'duration'), 'required duration is missing')
  else
    check_duration(rule.duration, file, key(section, 'duration'), problems)
  end
  if rule.match_internal ~= nil and type(rule.match_internal) ~= 'boolean' then
    problems.add(file, key(section, 'match_internal'), 'expected a boolean')
  end
  return {
    regex = rule.regex,
    action = action,
    trigger = trigger or 'Immediate',
    duration = rule.duration,
    match_internal = rule.match_internal == true,
  }
end

local function check_match(list, file, section, problems)
  if type(list) ~= 'table' or #list == 0 then
    problems.add(file, section, 'expected a list of {MXSuffix=...}, {DomainSuffix=...} or {HostName=...}')
    return nil
  end
  local out = {}
  for i, m in ipairs(list) do
    local at = format('%s[%d]', section, i)
    local kind, count = nil, 0
    if type(m) == 'table' then
      for k in pairs(m) do kind, count = k, count + 1 end
    end
    if count ~= 1 or not MATCH_KINDS[kind] or type(m[kind]) ~= 'string' then
      problems.add(file, at, 'expected one of {MXSuffix="..."}, {DomainSuffix="..."} or {HostName="..."}')
    else
      out[#out + 1] = { [kind] = m[kind]:lower() }
    end
  end
  return out
end

-- One section of a file (`["gmail.com"]`, `["default"]`, `[provider."google"]`) as an entry.
local function parse_block(kind, name, block, file, problems, entries)
  local section = support.entry(kind == 'provider' and 'provider' or nil, name)
  if type(block) ~= 'table' then
    problems.add(file, section, 'expected a table')
    return
  end
  local entry = {
    kind = kind,
    name = kind == 'provider' and name or name:lower(),
    file = file,
    params = {},
    sources = {},
    automation = {},
    replace_base = false,
  }
  for _, k in ipairs(sorted_keys(block)) do
    local v = block[k]
    if k == 'replace_base' then
      if type(v) ~= 'boolean' then problems.add(file, key(section, k), 'expected a boolean') end
      entry.replace_base = v == true
    elseif k == 'mx_rollup' and kind == 'domain' then
      if type(v) ~= 'boolean' then problems.add(file, key(section, k), 'expected a boolean') end
      entry.mx_rollup = v == true
    elseif k == 'sources' then
      if type(v) ~= 'table' then
        problems.add(file, key(section, k), 'expected a table of egress source names')
      else
        for _, source in ipairs(sorted_keys(v)) do
          local sblock = v[source]
          local ssection = support.entry(key(section, 'sources'), source)
          if type(sblock) ~= 'table' then
            problems.add(file, ssection, 'expected a table')
          else
            local params = copy(sblock)
            local replace = params.replace_base
            params.replace_base = nil
            if replace ~= nil and type(replace) ~= 'boolean' then
              problems.add(file, key(ssection, 'replace_base'), 'expected a boolean')
            end
            -- A provider's source block may cap that source across the provider's sites.
            local selection = nil
            if kind == 'provider' and params.provider_source_selection_rate ~= nil then
              selection = params.provider_source_selection_rate
              params.provider_source_selection_rate = nil
              check_provider_key('provider_source_selection_rate', selection, file, ssection, problems)
            end
            check_path(params, file, ssection, problems)
            entry.sources[source] = {
              params = params,
              replace_base = replace == true,
              provider_source_selection_rate = selection,
            }
          end
        end
      end
    elseif k == 'automation' then
      if type(v) ~= 'table' then
        problems.add(file, key(section, k), 'expected a list of automation rules')
      else
        for i, rule in ipairs(v) do
          entry.automation[#entry.automation + 1] =
            check_rule(rule, file, format('%s[%d]', key(section, k), i), problems)
        end
      end
    elseif k == 'match' and kind == 'provider' then
      entry.match = check_match(v, file, key(section, k), problems)
    elseif kind == 'provider' and PROVIDER_KEYS[k] then
      check_provider_key(k, v, file, section, problems)
      entry[k] = v
    else
      entry.params[k] = v
    end
  end
  if kind == 'provider' and block.match == nil then
    problems.add(file, key(section, 'match'), 'a provider block needs a match list')
  end
  check_path(entry.params, file, section, problems)
  entries[#entries + 1] = entry
end

local function parse_file(data, file, problems, entries)
  for _, name in ipairs(sorted_keys(data)) do
    local block = data[name]
    if type(name) ~= 'string' then
      problems.add(file, support.entry(nil, name), 'expected a domain name')
    elseif name == 'provider' then
      if type(block) ~= 'table' then
        problems.add(file, 'provider', 'expected a table of provider blocks')
      else
        for _, pname in ipairs(sorted_keys(block)) do
          parse_block('provider', pname, block[pname], file, problems, entries)
        end
      end
    else
      parse_block(name == 'default' and 'default' or 'domain', name, block, file, problems, entries)
    end
  end
end

-- The files of a setup, KumoMTA's packaged names replaced by Sterna's own where needed.
local function file_list(extra, with_default)
  local list = {}
  local has_default = false
  if with_default then
    list[#list + 1] = mod.DEFAULT_FILE
    has_default = true
  end
  for _, f in ipairs(extra or {}) do
    if f == KUMO_DEFAULT and not support.exists(f) then
      if not has_default then list[#list + 1] = mod.DEFAULT_FILE end
      has_default = true
    elseif f == KUMO_COMMUNITY and not support.exists(f) then
      kumo.log_warn(format('shaping: %s is not installed (Sterna does not ship it); skipped', f))
    else
      list[#list + 1] = f
    end
  end
  return list
end

--- Loads and checks every file; returns the compiled data and the list of problems.
local function load_all(files)
  local problems = support.problems()
  local entries = {}
  for _, file in ipairs(support.load_all(files, problems)) do
    parse_file(file.data, file.label, problems, entries)
  end
  local compiled = { entries = entries, rollup = {} }
  for _, e in ipairs(entries) do
    if e.kind == 'domain' and e.mx_rollup ~= nil then compiled.rollup[e.name] = e.mx_rollup end
  end
  return compiled, problems.list
end

--- The automation rules of the loaded data, as handed to the daemon.
local function automation_rules(compiled)
  local rules = {}
  for _, e in ipairs(compiled.entries) do
    for _, rule in ipairs(e.automation) do
      local r = copy(rule)
      r.scope = e.kind
      r.name = e.name
      r.file = e.file
      if e.kind == 'domain' then r.mx_rollup = compiled.rollup[e.name] ~= false end
      if e.kind == 'provider' then r.match = e.match end
      rules[#rules + 1] = r
    end
  end
  return rules
end

-- MX host names of a domain, sorted (false when the look-up fails), cached per context.
local function mx_cache(ttl)
  return kumo.memoize(function(domain)
    local ok, mx = pcall(kumo.dns.lookup_mx, domain)
    if not ok or type(mx) ~= 'table' or type(mx.hosts) ~= 'table' or #mx.hosts == 0 then
      return false
    end
    local hosts = {}
    for i, h in ipairs(mx.hosts) do hosts[i] = (tostring(h):lower():gsub('%.$', '')) end
    table.sort(hosts)
    return hosts
  end, { name = 'policy-extras.shaping mx', ttl = ttl, capacity = 4096, invalidate_with_epoch = true })
end

local function ends_with(s, suffix) return suffix == '' or s:sub(-#suffix) == suffix end

local function provider_matches(entry, domain, hosts)
  local mx_rules = {}
  for _, m in ipairs(entry.match or {}) do
    if m.DomainSuffix and ends_with(domain, m.DomainSuffix) then return true end
    if m.MXSuffix or m.HostName then mx_rules[#mx_rules + 1] = m end
  end
  if not hosts or #mx_rules == 0 then return false end
  -- Every MX host must match one of the MX rules (a vanity domain mixing providers matches none).
  for _, h in ipairs(hosts) do
    local any = false
    for _, m in ipairs(mx_rules) do
      if (m.MXSuffix and ends_with(h, m.MXSuffix)) or (m.HostName and h == m.HostName) then
        any = true
        break
      end
    end
    if not any then return false end
  end
  return true
end

local function same_site(a, b)
  if not a or not b or #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

--- The merged egress path options for (domain, source): plain data, not yet validated.
function mod.resolve(compiled, domain, source, lookup)
  domain = tostring(domain or ''):lower()
  local params = {}
  local function apply(block, replace)
    if replace then params = {} end
    for k, v in pairs(block) do
      if MERGED_MAPS[k] and type(v) == 'table' and type(params[k]) == 'table' then
        local merged = copy(params[k])
        utils.merge_into(v, merged)
        params[k] = merged
      else
        params[k] = v
      end
    end
  end
  local entries = compiled.entries
  local hosts = lookup(domain)

  for _, e in ipairs(entries) do
    if e.kind == 'default' then apply(e.params, e.replace_base) end
  end
  local providers = {}
  -- What a matching provider adds over its block (again after its source block): its name, and
  -- its provider_* limits as entries of the additional_* maps, named for the provider and the
  -- source, so they cap this source across every site of the provider.
  local function provider_limits(e, selection)
    local scope = format('shaping-provider-%s-%s', e.name, tostring(source))
    local implied = { provider_name = e.name }
    if e.provider_connection_limit ~= nil then
      implied.additional_connection_limits = { [scope .. '-limit'] = e.provider_connection_limit }
    end
    if e.provider_max_message_rate ~= nil then
      implied.additional_message_rate_throttles = { [scope .. '-rate'] = e.provider_max_message_rate }
    end
    if selection ~= nil then
      implied.additional_source_selection_rates = { [scope .. '-selection-rate'] = selection }
    end
    apply(implied)
  end
  for _, e in ipairs(entries) do
    if e.kind == 'provider' and provider_matches(e, domain, hosts) then
      providers[#providers + 1] = e
      apply(e.params, e.replace_base)
      provider_limits(e, e.provider_source_selection_rate)
    end
  end
  for _, e in ipairs(providers) do
    local s = e.sources[source]
    if s then
      apply(s.params, s.replace_base)
      provider_limits(e, s.provider_source_selection_rate or e.provider_source_selection_rate)
    end
  end
  -- A domain block applies to its site (every domain sharing its MX hosts) unless mx_rollup=false.
  local function site_block(e)
    if e.kind ~= 'domain' or compiled.rollup[e.name] == false then return false end
    if e.name == domain then return true end
    return hosts and same_site(lookup(e.name), hosts)
  end
  local function domain_block(e)
    return e.kind == 'domain' and compiled.rollup[e.name] == false and e.name == domain
  end
  for _, e in ipairs(entries) do
    if site_block(e) then apply(e.params, e.replace_base) end
  end
  for _, e in ipairs(entries) do
    if domain_block(e) then apply(e.params, e.replace_base) end
  end
  for _, e in ipairs(entries) do
    local s = e.sources[source]
    if s and site_block(e) then apply(s.params, s.replace_base) end
  end
  for _, e in ipairs(entries) do
    local s = e.sources[source]
    if s and domain_block(e) then apply(s.params, s.replace_base) end
  end
  return params
end

-- What both setups share: the cached data, the handler, and the validate_config check.
local function make_shaper(files, options)
  local ttl = options.cache_ttl or '1 minute'
  local lookup = mx_cache(ttl)
  local data = support.data_source(WHAT, 'policy-extras.shaping', files, load_all, { ttl = ttl })
  local function get_egress_path_config(domain, egress_source, site_name)
    local params = mod.resolve(data(), domain, egress_source, lookup)
    return kumo.make_egress_path(params)
  end
  return get_egress_path_config, data
end

--- `shaping:setup(extra_files)`: the older form. Loads Sterna's default file and the given
--- ones and returns the get_egress_path_config handler.
function mod:setup(extra_files)
  local handler = make_shaper(file_list(extra_files, true), {})
  return handler
end

-- The data of every setup_with_automation in this policy, in call order.
local automated = {}

--- Sterna's own event (not KumoMTA's): the daemon calls it after each configuration reload for
--- the automation rules as they are now, in the shape handed at pre_init (the files are read
--- again once the config epoch has moved on). Raises, naming the file and key, when the files
--- no longer load.
mod.RULES_EVENT = 'sterna.shaping_automation_rules'

local function current_rules()
  local rules = {}
  for _, data in ipairs(automated) do
    for _, rule in ipairs(automation_rules(data())) do rules[#rules + 1] = rule end
  end
  return rules
end

--- `shaping:setup_with_automation{publish, subscribe, extra_files, no_default_files, cache_ttl}`.
--- Returns the shaper object of KumoMTA's helper. Automation rules are handed to the daemon
--- at pre_init, and answer the daemon's `sterna.shaping_automation_rules` event after a reload;
--- `publish`/`subscribe` (the TSA daemon's URLs) are accepted and not used.
function mod:setup_with_automation(options)
  options = options or {}
  local files = file_list(options.extra_files, not options.no_default_files)
  local handler, data = make_shaper(files, options)
  automated[#automated + 1] = data
  if #automated == 1 then kumo.on(mod.RULES_EVENT, current_rules) end

  kumo.on('pre_init', function()
    local ok, compiled = pcall(data)
    if not ok then
      -- Startup goes on, as in KumoMTA; get_egress_path_config raises the same text on use.
      kumo.log_error(tostring(compiled))
      return
    end
    local rules = automation_rules(compiled)
    if kumo.__configure_shaping_automation then
      kumo.__configure_shaping_automation { rules = rules }
    end
  end)

  local shaper = {}
  shaper.get_egress_path_config = handler
  -- KumoMTA publishes log records to its TSA daemon from here; Sterna evaluates the rules in
  -- the daemon itself, so there is nothing to publish.
  function shaper.setup_publish() end
  function shaper.should_enqueue_log_record(msg, hook_name) return nil end
  function shaper.get_queue_config(domain, tenant, campaign, routing_domain) return nil end
  return shaper
end

-- For tests and tools: parse files without registering anything.
mod.load = load_all
mod.automation_rules = automation_rules

return mod
