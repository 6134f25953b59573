-- policy-extras.sources: Sterna's implementation of KumoMTA's sources helper (sources.toml).
--
--   local sources = require 'policy-extras.sources'
--   sources:setup { '/opt/kumomta/etc/sources.toml' }
--
-- The data (TOML, JSON or YAML by extension, or a Lua table), several files merged in order:
--
--   [source.'ip-1']                  -- any kumo.make_egress_source option but name:
--   source_address = '10.0.0.1'      --   source_address, ehlo_domain, remote_port, ttl,
--   ehlo_domain = 'mta1.example.com' --   ha_proxy_*, socks5_proxy_*, suspend_when_*
--   [pool.'pool-1'.'ip-1']           -- pool-1 holds ip-1 (weight 1 when not given)
--   [pool.'pool-2'.'ip-2']
--   weight = 2
--
-- setup registers get_egress_source, get_egress_pool and validate_config. Other helpers (the
-- queue helper's and the shaping helper's validation) ask `sources:defined_pools()` and
-- `sources:defined_sources()` which names exist, once setup has been called.
local kumo = require 'kumo'
local support = require 'policy-extras.helper_support'

local mod = {}

local type, pairs, ipairs, tostring, pcall = type, pairs, ipairs, tostring, pcall
local format, sort = string.format, table.sort

local WHAT = 'sources helper'

-- Reads and merges the data files: { sources = { name = { path, params, origin, bad } },
-- pools = { name = { path, file, members = { source = { weight, file, path } } } } }, the
-- problems that stop every use, and the problems of single source keys.
local function compile(files)
  local fatal = support.problems()
  local data = { sources = {}, pools = {} }
  for _, file in ipairs(support.load_all(files, fatal)) do
    local label = file.label
    for key, value in pairs(file.data) do
      key = tostring(key)
      if key == 'source' then
        support.each_entry(value, 'source', label, fatal, 'a table of egress source options',
          function(name, params, path)
            local entry = data.sources[name] or { path = path, params = {}, origin = {} }
            data.sources[name] = entry
            for k, v in pairs(params) do
              k = tostring(k)
              if k == 'name' then
                fatal.add(label, support.key(path, 'name'),
                  'the source name is the table name; remove name')
              else
                entry.params[k], entry.origin[k] = v, label
              end
            end
          end)
      elseif key == 'pool' then
        support.each_entry(value, 'pool', label, fatal, 'a table of sources',
          function(pool, members, path)
            local entry = data.pools[pool] or { path = path, members = {} }
            data.pools[pool] = entry
            entry.file = label
            support.each_entry(members, path, label, fatal, 'a table (weight = n)',
              function(source, options, at)
                local member = entry.members[source] or { weight = 1 }
                entry.members[source] = member
                member.file, member.path = label, at
                for k, v in pairs(options) do
                  k = tostring(k)
                  if k ~= 'weight' then
                    fatal.add(label, support.key(at, k), 'unknown key (expected weight)')
                  elseif math.type(v) ~= 'integer' or v < 0 then
                    fatal.add(label, support.key(at, 'weight'), 'expected a whole number 0 or more')
                  else
                    member.weight = v
                  end
                end
              end)
          end)
      else
        fatal.add(label, support.quote(key), 'unknown key (expected source or pool)')
      end
    end
  end
  local entries = support.problems()
  for name, entry in pairs(data.sources) do
    support.check_entry('make_egress_source', entry, entries, { name = name })
  end
  return data, fatal.list, entries.list
end

local function undefined_source(name)
  return format('source %s is not defined (no [%s])', support.name(name), support.entry('source', name))
end

local function undefined_member(data, source)
  for _, pool in pairs(data.pools) do
    local member = pool.members[source]
    if member then return member end
  end
  return nil
end

local function pool_entries(pool)
  local names = {}
  for source in pairs(pool.members) do names[#names + 1] = source end
  sort(names)
  local entries = {}
  for i, source in ipairs(names) do
    entries[i] = { name = source, weight = pool.members[source].weight }
  end
  return entries
end

-- For validate_config: every pool through kumo.make_egress_pool, every member defined.
local function check_pools(data, problems)
  for name, pool in pairs(data.pools) do
    local ok, err = pcall(kumo.make_egress_pool, { name = name, entries = pool_entries(pool) })
    if not ok then problems.add(pool.file, pool.path, support.reason(err)) end
    for source, member in pairs(pool.members) do
      if data.sources[source] == nil then
        problems.add(member.file, member.path, undefined_source(source))
      end
    end
  end
end

local configured_files

--- Reads `files` (when first needed; cached for 5 minutes) and registers `get_egress_source`,
--- `get_egress_pool` and `validate_config`.
function mod:setup(files)
  files = support.file_list(files, 'sources')
  configured_files = files
  local data_or_raise = support.data_source(WHAT, 'policy-extras.sources', files, compile,
    { check = check_pools })

  kumo.on('get_egress_source', function(name)
    local data = data_or_raise()
    local entry = data.sources[name]
    if entry == nil then
      local member = undefined_member(data, name)
      if member then
        support.raise(WHAT, { {
          file = member.file,
          path = member.path,
          text = undefined_source(name),
        } })
      end
      error(format("%s: no source named '%s' in the sources data", WHAT, tostring(name)), 0)
    end
    support.raise_refused(WHAT, { entry })
    local params = { name = name }
    for k, v in pairs(entry.params) do params[k] = v end
    return kumo.make_egress_source(params)
  end)

  kumo.on('get_egress_pool', function(name)
    local data = data_or_raise()
    local pool = data.pools[name]
    if pool == nil then
      error(format("%s: no pool named '%s' in the sources data", WHAT, tostring(name)), 0)
    end
    return kumo.make_egress_pool { name = name, entries = pool_entries(pool) }
  end)
end

local function names_of(field)
  if configured_files == nil then return nil end
  local data = compile(configured_files)
  local set = {}
  for name in pairs(data[field]) do set[name] = true end
  return set
end

--- The set of pool names the data defines (`{ ['pool-1'] = true }`), or nil before setup.
function mod:defined_pools() return names_of('pools') end

--- The set of source names the data defines, or nil before setup.
function mod:defined_sources() return names_of('sources') end

return mod
