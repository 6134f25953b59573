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
local lower = string.lower

local WHAT = 'listener_domains helper'
local GENERAL = '*'

local function add_entries(data, listener, entries, label, path, fatal)
  local set = data.listeners[listener] or {}
  data.listeners[listener] = set
  support.each_entry(entries, path, label, fatal, 'a table of listener-domain options',
    function(domain, params, at)
      local key = lower(domain)
      local entry = set[key] or { path = at, params = {}, origin = {} }
      set[key] = entry
      for k, v in pairs(params) do
        k = tostring(k)
        entry.params[k], entry.origin[k] = v, label
      end
    end)
end

-- Reads and merges the data files: { listeners = { ['*' or listener] = { domain = entry } },
-- maps = { ['*' or listener] = (a kumo.domain_map of those entries) } } (an entry is
-- { path, params, origin, bad }), the problems that stop every use, and the problems of single
-- keys.
local function compile(files)
  local fatal = support.problems()
  local data = { listeners = {} }
  for _, file in ipairs(support.load_all(files, fatal)) do
    local label = file.label
    local general = {}
    for key, value in pairs(file.data) do
      key = tostring(key)
      if key == 'listener' and support.is_table(value) then
        support.each_entry(value, 'listener', label, fatal, 'a table of domains',
          function(listener, entries, path) add_entries(data, listener, entries, label, path, fatal) end)
      else
        general[key] = value
      end
    end
    add_entries(data, GENERAL, general, label, nil, fatal)
  end
  local entries = support.problems()
  data.maps = {}
  for listener, set in pairs(data.listeners) do
    for _, entry in pairs(set) do support.check_entry('make_listener_domain', entry, entries) end
    data.maps[listener] = kumo.domain_map.new(set)
  end
  return data, fatal.list, entries.list
end

-- The entry for `domain` among one listener's (or the general) entries: the exact name, the
-- nearest `*.` wildcard, else `'*'`.
local function find(map, domain)
  if map == nil then return nil end
  return map[domain] or map[GENERAL]
end

--- Reads `files` (when first needed; cached for 5 minutes), registers `validate_config`, and
--- returns the `get_listener_domain` handler: `function(domain, listener, conn_meta)` giving a
--- `kumo.make_listener_domain` object, or nil for a domain the data does not name.
function mod:setup(files)
  files = support.file_list(files, 'listener_domains')
  local load = support.data_source(WHAT, 'policy-extras.listener_domains', files, compile)

  return function(domain, listener, _conn_meta)
    local data = load()
    local entry
    if listener ~= nil and tostring(listener) ~= GENERAL then
      entry = find(data.maps[tostring(listener)], domain)
    end
    entry = entry or find(data.maps[GENERAL], domain)
    if entry == nil then return nil end
    support.raise_refused(WHAT, { entry })
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
