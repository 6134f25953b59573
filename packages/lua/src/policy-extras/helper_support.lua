-- policy-extras.helper_support: what Sterna's data-file helpers (queue, sources,
-- listener_domains) share. Not a KumoMTA module: policies have no reason to require it.
--
-- A helper reads its data files into plain tables (memoized, so a changed file is seen once the
-- cache entry expires) and records each mistake as a problem naming the file and the key.
-- `validate_config` reports every problem (kumo.log_error, then kumo.validation_failed()); at
-- run time a problem in what a call needs raises a Lua error with the same text.
local kumo = require 'kumo'
local utils = require 'policy-extras.policy_utils'

local mod = {}

local type, pairs, ipairs, tostring, pcall, error = type, pairs, ipairs, tostring, pcall, error
local format, lower, concat = string.format, string.lower, table.concat

--- How a data file is named in messages: its path, or `(inline table)` for the Lua-table form.
function mod.file_label(file)
  if type(file) == 'table' then return '(inline table)' end
  return tostring(file)
end

--- A key as TOML writes it in a dotted path: bare when it can be, quoted otherwise.
function mod.quote(key)
  key = tostring(key)
  if key:match('^[%w_-]+$') then return key end
  return "'" .. key .. "'"
end

--- A name the data defines (a domain, tenant, source, pool, listener), always quoted as the
--- documentation writes them: `'gmail.com'`.
function mod.name(key)
  return "'" .. tostring(key) .. "'"
end

--- `queue.'gmail.com'` from `'queue', 'gmail.com'`: a fixed section and a name it defines.
function mod.path(section, name)
  return section .. '.' .. mod.name(name)
end

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

--- True for a table holding a Lua sequence (a TOML or JSON array).
function mod.is_array(value)
  return type(value) == 'table' and value[1] ~= nil
end

-- The message of a failed `kumo.make_*` call without Lua's position prefix.
local function reason(err)
  local text = tostring(type(err) == 'table' and (err.message or err[1]) or err)
  return (text:gsub('^[^\n]-:%d+: ', ''))
end
mod.reason = reason

--- Checks one key of an entry with `kumo[maker]` (`'make_queue_config'`, …), alone or with
--- `base` (the keys the maker requires, such as a source's `name`). nil when it is accepted,
--- else the reason.
function mod.check_key(maker, key, value, base)
  local params = {}
  for k, v in pairs(base or {}) do params[k] = v end
  params[key] = value
  local ok, err = pcall(kumo[maker], params)
  if ok then return nil end
  return reason(err)
end

--- A collector of problems: `{ file, path, text }`.
function mod.problems()
  local list = {}
  local p = { list = list }
  function p.add(file, path, text)
    list[#list + 1] = { file = file, path = path, text = text }
  end
  return p
end

--- One line per problem: `<file>: <key path>: <what is wrong>`.
function mod.describe(problem)
  if problem.path == nil or problem.path == '' then
    return format('%s: %s', problem.file, problem.text)
  end
  return format('%s: %s: %s', problem.file, problem.path, problem.text)
end

--- Raises a Lua error listing `problems` (at the caller's caller), prefixed by `what`.
function mod.raise(what, problems)
  local lines = {}
  for i, problem in ipairs(problems) do lines[i] = mod.describe(problem) end
  error(format('%s: %s', what, concat(lines, '; ')), 0)
end

--- Logs each problem with `kumo.log_error` and, if there was any, calls
--- `kumo.validation_failed()`. Returns the number of problems.
function mod.report(what, problems)
  for _, problem in ipairs(problems) do
    kumo.log_error(format('%s: %s', what, mod.describe(problem)))
  end
  if #problems > 0 then kumo.validation_failed() end
  return #problems
end

--- Reads every data file (`policy_utils.load_json_or_toml_file`); a file that cannot be read or
--- parsed becomes a problem naming it. Returns an array of `{ label, data }`.
function mod.load_all(files, problems)
  local loaded = {}
  for _, file in ipairs(files) do
    local label = mod.file_label(file)
    local ok, data = pcall(utils.load_json_or_toml_file, file)
    if not ok then
      problems.add(label, nil, reason(data))
    elseif type(data) ~= 'table' then
      problems.add(label, nil, format('expected a table at the top level, got %s', type(data)))
    else
      loaded[#loaded + 1] = { label = label, data = data }
    end
  end
  return loaded
end

local SHARED = { __name = 'policy-extras data' }

--- `kumo.memoize` around `fn(files)`, the way KumoMTA's helpers cache their data: read once,
--- read again after `ttl` or when the configuration epoch changes (a watched file changed).
--- The data is marked as an object so the cache hands out the same (read-only) table rather
--- than a copy on every call.
function mod.memoized(name, fn, ttl)
  local function load(files) return setmetatable(fn(files), SHARED) end
  return kumo.memoize(load, {
    name = name,
    ttl = ttl or '5 minutes',
    capacity = 10,
    invalidate_with_epoch = true,
  })
end

--- The value a domain map gives `domain`: the entry of that exact name, else the nearest
--- wildcard entry above it (`*.example.com` matches `a.example.com` and `a.b.example.com`, not
--- `example.com`). Keys of `map` are lower case; nil when nothing matches.
function mod.domain_lookup(map, domain)
  if domain == nil then return nil end
  domain = lower(tostring(domain))
  local hit = map[domain]
  if hit ~= nil then return hit end
  local rest = domain
  while true do
    local dot = rest:find('.', 1, true)
    if dot == nil then return nil end
    rest = rest:sub(dot + 1)
    hit = map['*.' .. rest]
    if hit ~= nil then return hit end
  end
end

return mod
