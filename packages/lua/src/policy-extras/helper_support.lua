-- policy-extras.helper_support: what Sterna's data-file helpers (queue, sources,
-- listener_domains, shaping, dkim_sign) share. Not a KumoMTA module: policies have no reason to
-- require it.
--
-- A helper reads its data files (TOML, JSON, YAML, or Lua tables in their place) into plain
-- tables, kept with kumo.memoize, and records each mistake as a problem naming the file and the
-- key. `validate_config` reports every problem (kumo.log_error, then kumo.validation_failed());
-- at run time a problem in what a call needs raises a Lua error with the same text:
--
--   <helper>: <file>: <key path>: <what is wrong>
--
-- Key paths are written as TOML writes dotted keys: fixed keys bare (`max_age`), names the data
-- defines (domains, tenants, sources, pools, providers, signatures, listeners) always quoted, as
-- the documentation writes them (`queue.'gmail.com'.max_age`). A Lua table given in place of a
-- file is named by its place in the setup list: `<Lua table #2>`.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

local type, pairs, ipairs, tostring, pcall, error, next = type, pairs, ipairs, tostring, pcall, error, next
local setmetatable, open = setmetatable, io.open
local format, concat, sort = string.format, table.concat, table.sort

---------------------------------------------------------------------------------------------------
-- Key paths

--- A name the data defines, always quoted: `'gmail.com'` (`"it's"` with TOML's escapes when the
--- name holds a quote or a control character).
function mod.name(key)
  key = tostring(key)
  if key:find("[%c']") then return format('%q', key) end
  return "'" .. key .. "'"
end

--- A fixed key: bare when TOML allows it (`max_age`, `pool-1`), else quoted like a name.
function mod.quote(key)
  key = tostring(key)
  if key:match('^[%w_-]+$') then return key end
  return mod.name(key)
end

--- `path` followed by fixed keys: `key("queue.'x'", 'max_age')` is `queue.'x'.max_age`. An empty
--- or nil `path` starts the path at the first key.
function mod.key(path, ...)
  local parts = { path ~= '' and path or nil }
  for _, part in ipairs({ ... }) do parts[#parts + 1] = mod.quote(part) end
  return concat(parts, '.')
end

--- `path` followed by a name the data defines: `entry('queue', 'gmail.com')` is
--- `queue.'gmail.com'`. An empty or nil `path` gives the quoted name alone.
function mod.entry(path, name)
  if path == nil or path == '' then return mod.name(name) end
  return path .. '.' .. mod.name(name)
end

---------------------------------------------------------------------------------------------------
-- Problems

--- A collector of problems `{ file, path, text }`: `add(file, path, text)` (path may be nil for
--- the file as a whole), `add_all(list)`, and `list`.
function mod.problems()
  local list = {}
  local p = { list = list }
  function p.add(file, path, text)
    list[#list + 1] = { file = file, path = path, text = text }
  end
  function p.add_all(other)
    for _, problem in ipairs(other) do list[#list + 1] = problem end
  end
  return p
end

--- One problem as `<file>: <key path>: <what is wrong>` (`<file>: <what>` without a key path).
function mod.describe(problem)
  if problem.path == nil or problem.path == '' then
    return format('%s: %s', problem.file, problem.text)
  end
  return format('%s: %s: %s', problem.file, problem.path, problem.text)
end

--- Logs each problem, prefixed by `helper`, with `kumo.log_error` and, if there was any, calls
--- `kumo.validation_failed()`. Returns the number of problems.
function mod.report(helper, list)
  for _, problem in ipairs(list) do
    kumo.log_error(format('%s: %s', helper, mod.describe(problem)))
  end
  if #list > 0 then kumo.validation_failed() end
  return #list
end

--- Raises one Lua error listing every problem (`helper: a; b`); does nothing for none.
function mod.raise(helper, list)
  if #list == 0 then return end
  local lines = {}
  for i, problem in ipairs(list) do lines[i] = mod.describe(problem) end
  error(format('%s: %s', helper, concat(lines, '; ')), 0)
end

--- The text of an error without what the key path already says: Lua's position prefix, a
--- Sterna error code and the name of the kumo function that raised it
--- (`kumo.make_queue_config: unknown field 'x'` gives `unknown field 'x'`).
function mod.reason(err)
  local text = tostring(type(err) == 'table' and (err.message or err[1]) or err)
  text = text:gsub('^[^\n]-:%d+: ', '')
  text = text:gsub('^STERNA_[%u_]+:%s*', '')
  text = text:gsub('^kumo%.[%w_.]+:%s*', '')
  return text
end

---------------------------------------------------------------------------------------------------
-- Checking data

--- True for a table holding a Lua sequence (a TOML or JSON array).
function mod.is_array(value)
  return type(value) == 'table' and value[1] ~= nil
end

--- True for a table of keys (a TOML table), as opposed to an array or a scalar.
function mod.is_table(value)
  return type(value) == 'table' and not mod.is_array(value)
end

--- Calls `fn(name, value, entry_path)` for each entry of `tbl`, a table of named entries at
--- `path` (for `[pool.'p']`, the table under `pool`), in name order. `tbl` itself not being a
--- table of keys, or an entry not being one, is a problem (`expected <what>, got <type>` for an
--- entry) instead.
function mod.each_entry(tbl, path, label, problems, what, fn)
  if not mod.is_table(tbl) then
    problems.add(label, path, 'expected a table of entries, got ' .. type(tbl))
    return
  end
  local names = {}
  for key, value in pairs(tbl) do names[#names + 1] = { tostring(key), value } end
  sort(names, function(a, b) return a[1] < b[1] end)
  for _, pair in ipairs(names) do
    local name, value = pair[1], pair[2]
    local at = mod.entry(path, name)
    if mod.is_table(value) then
      fn(name, value, at)
    else
      problems.add(label, at, format('expected %s, got %s', what, type(value)))
    end
  end
end

--- True when `path` names a readable file.
function mod.exists(path)
  local f = open(path, 'r')
  if f == nil then return false end
  f:close()
  return true
end

--- Each key of `tbl` that `allowed` (a set) does not hold is a problem, in sorted order.
function mod.known_keys(problems, file, path, tbl, allowed)
  local names = {}
  for k in pairs(tbl) do names[#names + 1] = tostring(k) end
  sort(names)
  for _, k in ipairs(names) do
    if not allowed[k] then problems.add(file, mod.key(path, k), 'unknown key') end
  end
end

--- Checks one key of an entry with `kumo[maker]` (`'make_queue_config'`, …), alone or with
--- `base` (the keys the maker requires, such as a source's `name`). nil when it is accepted,
--- else the reason (without the key's name, which the key path gives).
function mod.check_key(maker, key, value, base)
  local params = {}
  for k, v in pairs(base or {}) do params[k] = v end
  params[key] = value
  local ok, err = pcall(kumo[maker], params)
  if ok then return nil end
  local why = mod.reason(err)
  local bare = why:sub(#key + 3)
  if why:sub(1, #key + 2) == key .. ': ' and bare ~= '' then return bare end
  return why
end

--- An entry is `{ path, params, origin }`: its key path, its keys, and the file each key came
--- from. Checks every key with `check_key`; the refused ones are kept in `entry.bad` (key →
--- reason) and added to `problems`.
function mod.check_entry(maker, entry, problems, base)
  entry.bad = {}
  for key, value in pairs(entry.params) do
    local why = mod.check_key(maker, key, value, base)
    if why then
      entry.bad[key] = why
      problems.add(entry.origin[key], mod.key(entry.path, key), why)
    end
  end
end

--- Raises naming file and key if any key of `entries` was refused by `check_entry`. With
--- `params` (the keys merged from those entries), only a key whose value won the merge counts.
function mod.raise_refused(helper, entries, params)
  local problems = mod.problems()
  for _, entry in ipairs(entries) do
    for key, why in pairs(entry.bad) do
      if params == nil or params[key] == entry.params[key] then
        problems.add(entry.origin[key], mod.key(entry.path, key), why)
      end
    end
  end
  mod.raise(helper, problems.list)
end

---------------------------------------------------------------------------------------------------
-- Reading data files

--- The files argument of `setup`: an array of file names and/or tables of data; one file name
--- or one table of data alone is accepted too.
function mod.file_list(files, helper)
  if type(files) == 'string' then return { files } end
  if type(files) ~= 'table' then
    error(format('%s:setup: expected a list of data files, got %s', helper, type(files)), 3)
  end
  if files[1] == nil and next(files) ~= nil then return { files } end
  for i, file in ipairs(files) do
    if type(file) ~= 'string' and type(file) ~= 'table' then
      error(format('%s:setup: data file %d is a %s, not a file name or a table', helper, i,
        type(file)), 3)
    end
  end
  return files
end

--- Reads every data file of the list (`policy_utils.load_json_or_toml_file`: TOML, YAML or JSON
--- by extension; a table is the data itself). A file that cannot be read or parsed, or holds no
--- table, becomes a problem naming it. Returns an array of `{ label, data }`.
function mod.load_all(files, problems)
  local loaded = {}
  for i, file in ipairs(files) do
    local label = type(file) == 'table' and format('<Lua table #%d>', i) or tostring(file)
    local ok, data = pcall(utils.load_json_or_toml_file, file)
    if not ok then
      problems.add(label, nil, mod.reason(data))
    elseif type(data) ~= 'table' then
      problems.add(label, nil, format('expected a table at the top level, got %s', type(data)))
    else
      loaded[#loaded + 1] = { label = label, data = data }
    end
  end
  return loaded
end

---------------------------------------------------------------------------------------------------
-- Caching

-- What the caches hand out is marked as an object, so kumo.memoize gives every caller the same
-- (read-only) table rather than a deep copy on every call.
local SHARED = { __name = 'policy-extras data' }
local caches = 0

--- `make()`'s value (a table), kept with kumo.memoize for `ttl`; a new configuration epoch
--- empties the cache, so changed data files are read again at once. An error `make` raises is
--- not kept: a file fixed after a failed read is read on the next call. Each call makes a cache
--- of its own (a helper set up twice keeps two).
function mod.cached(name, ttl, make)
  caches = caches + 1
  local cached = kumo.memoize(function() return setmetatable(make(), SHARED) end, {
    name = format('%s #%d', name, caches),
    ttl = ttl,
    capacity = 1,
    invalidate_with_epoch = true,
  })
  return cached
end

--- What a data-file helper's `setup` does with its files. `compile(files)` reads and checks them:
--- it returns the data, the problems that stop every use of the helper, and (optionally) the
--- problems of single entries, which raise only when a call needs that entry. Registers a
--- `validate_config` handler reporting all of them (and those `check(data, problems)` adds), and
--- returns a function giving the data (cached for `ttl`, default 5 minutes) or raising the
--- problems that stop every use.
function mod.data_source(helper, name, files, compile, options)
  options = options or {}
  local data = mod.cached(name, options.ttl or '5 minutes', function()
    local compiled, fatal = compile(files)
    mod.raise(helper, fatal)
    return compiled
  end)
  kumo.on('validate_config', function()
    local compiled, fatal, entries = compile(files)
    local problems = mod.problems()
    problems.add_all(fatal)
    problems.add_all(entries or {})
    if options.check then options.check(compiled, problems) end
    mod.report(helper, problems.list)
  end)
  return data
end

return mod
