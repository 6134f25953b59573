-- policy-extras.listener_domains: Sterna's implementation of KumoMTA's listener_domains helper
-- (listener_domains.toml).
--
--   local listener_domains = require 'policy-extras.listener_domains'
--   kumo.on('get_listener_domain', listener_domains:setup { '/opt/kumomta/etc/listener_domains.toml' })
--
-- The data (TOML, JSON or YAML by extension, or a Lua table), several files merged in order:
--
--   ['*']                              -- any domain without an entry of its own
--   log_oob = true
--   ['example.com']                    -- kumo.make_listener_domain options: relay_to,
--   relay_to = true                    --   relay_from, relay_from_authz, log_oob, log_arf
--   ['*.example.com']                  -- sub-domains of example.com (not example.com)
--   log_arf = true
--   [listener.'127.0.0.1:25'.'*.example.com']   -- only on that listener
--   log_oob = false
--
-- An entry is used whole (the most specific one that matches, not merged with the others):
-- first the listener's own entries (exact name, nearest wildcard, '*'), then the general ones.
-- setup registers validate_config and returns the get_listener_domain handler.
local kumo = require 'kumo'
local support = require 'policy-extras.helper_support'

local mod = {}

local type, pairs, ipairs, tostring, pcall = type, pairs, ipairs, tostring, pcall
local format, lower = string.format, string.lower

local WHAT = 'listener_domains helper'
local GENERAL = '*'

local function add_entries(data, listener, entries, label, prefix, fatal)
  local set = data.listeners[listener] or {}
  data.listeners[listener] = set
  for domain, params in pairs(entries) do
    domain = tostring(domain)
    local path = prefix .. support.name(domain)
    if type(params) ~= 'table' or support.is_array(params) then
      fatal.add(label, path, 'expected a table of listener-domain options, got ' .. type(params))
    else
      local key = lower(domain)
      local entry = set[key] or { path = path, params = {}, origin = {} }
      set[key] = entry
      for k, v in pairs(params) do
        k = tostring(k)
        entry.params[k], entry.origin[k] = v, label
      end
    end
  end
end

-- Reads and merges the data files into plain tables (the result is memoized):
-- { listeners = { ['*' or listener] = { domain = { path, params, origin, bad } } },
--   fatal = {…}, entry_problems = {…} }
local function compile(files)
  local fatal = support.problems()
  local data = { listeners = {} }
  for _, file in ipairs(support.load_all(files, fatal)) do
    local label = file.label
    local general = {}
    for key, value in pairs(file.data) do
      key = tostring(key)
      if key == 'listener' and type(value) == 'table' and not support.is_array(value) then
        for listener, entries in pairs(value) do
          listener = tostring(listener)
          local prefix = support.path('listener', listener) .. '.'
          if type(entries) ~= 'table' or support.is_array(entries) then
            fatal.add(label, support.path('listener', listener), 'expected a table of domains')
          else
            add_entries(data, listener, entries, label, prefix, fatal)
          end
        end
      else
        general[key] = value
      end
    end
    add_entries(data, GENERAL, general, label, '', fatal)
  end
  local entries = support.problems()
  for _, set in pairs(data.listeners) do
    for _, entry in pairs(set) do
      entry.bad = {}
      for key, value in pairs(entry.params) do
        local why = support.check_key('make_listener_domain', key, value)
        if why then
          entry.bad[key] = why
          entries.add(entry.origin[key], entry.path .. '.' .. support.quote(key), why)
        end
      end
    end
  end
  data.fatal, data.entry_problems = fatal.list, entries.list
  return data
end

local function find(set, domain)
  if set == nil then return nil end
  return support.domain_lookup(set, domain) or set[GENERAL]
end

--- Reads `files` (when first needed; cached for 5 minutes), registers `validate_config`, and
--- returns the `get_listener_domain` handler: `function(domain, listener, conn_meta)` giving a
--- `kumo.make_listener_domain` object, or nil for a domain the data does not name.
function mod:setup(files)
  files = support.file_list(files, 'listener_domains')
  local load = support.memoized('policy-extras.listener_domains', compile)

  kumo.on('validate_config', function()
    local data = compile(files)
    local problems = support.problems()
    for _, p in ipairs(data.fatal) do problems.add(p.file, p.path, p.text) end
    for _, p in ipairs(data.entry_problems) do problems.add(p.file, p.path, p.text) end
    support.report(WHAT, problems.list)
  end)

  return function(domain, listener, _conn_meta)
    local data = load(files)
    if #data.fatal > 0 then support.raise(WHAT, data.fatal) end
    local entry
    if listener ~= nil and tostring(listener) ~= GENERAL then
      entry = find(data.listeners[tostring(listener)], domain)
    end
    entry = entry or find(data.listeners[GENERAL], domain)
    if entry == nil then return nil end
    local problems = {}
    for key, why in pairs(entry.bad) do
      problems[#problems + 1] = {
        file = entry.origin[key],
        path = entry.path .. '.' .. support.quote(key),
        text = why,
      }
    end
    if #problems > 0 then support.raise(WHAT, problems) end
    local params = {}
    for k, v in pairs(entry.params) do params[k] = v end
    local ok, result = pcall(kumo.make_listener_domain, params)
    if not ok then
      support.raise(WHAT, { { file = 'merged entry', path = entry.path, text = support.reason(result) } })
    end
    return result
  end
end

return mod
