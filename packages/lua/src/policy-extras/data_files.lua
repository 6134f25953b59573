-- Sterna's own support for the policy-extras helpers that read data files (shaping, dkim_sign):
-- loading TOML or JSON, problems named by file and key, caches (kumo.memoize) of what they read.
-- Not a KumoMTA module; `require 'policy-extras.data_files'` is how the helpers share it.
local kumo = require 'kumo'

local M = {}

local format, type, tostring, pairs, ipairs = string.format, type, tostring, pairs, ipairs

local function loader(kind)
  local serde = kumo.serde or {}
  return serde[kind .. '_load'] or kumo[kind .. '_load']
end

--- Reads one data source: a file (TOML when its name ends in `.toml`, YAML for `.yaml`/`.yml`,
--- JSON otherwise, as KumoMTA's helpers decide) or a Lua table given in its place.
--- Returns the data and the name problems are reported under. Raises naming the file.
function M.load(source)
  if type(source) == 'table' then return source, '<lua table>' end
  if type(source) ~= 'string' then
    error(format('expected a file name or a table, got %s', type(source)), 0)
  end
  local kind = 'json'
  if source:match('%.toml$') then
    kind = 'toml'
  elseif source:match('%.ya?ml$') then
    kind = 'yaml'
  end
  local load = loader(kind)
  if load == nil then error(format('%s: kumo.%s_load is not available', source, kind), 0) end
  local ok, data = pcall(load, source)
  if not ok then error(format('%s: %s', source, tostring(data)), 0) end
  if type(data) ~= 'table' then error(format('%s: expected a table at the top level', source), 0) end
  return data, source
end

--- True when `path` names a readable file.
function M.exists(path)
  local f = io.open(path, 'r')
  if f == nil then return false end
  f:close()
  return true
end

--- A list of problems, each naming the file and the key (`file: key: what`).
function M.problems()
  local list = {}
  local self = { list = list }
  function self.add(file, key, what)
    if key ~= nil and key ~= '' then
      list[#list + 1] = format('%s: %s: %s', file, key, what)
    else
      list[#list + 1] = format('%s: %s', file, what)
    end
  end
  return self
end

--- The text of a `kumo.make_*` error without the Sterna error code and the function name, so
--- that it can follow the file and section it was found in.
function M.reason(err)
  local text = tostring(type(err) == 'table' and (err.message or err) or err)
  text = text:gsub('^STERNA_[%u_]+:%s*', '')
  text = text:gsub('^kumo%.make_[%w_]+:%s*', '')
  return text
end

--- One name as TOML writes it in a key: bare when it can be, else quoted (`"gmail.com"`).
function M.quote(name)
  if type(name) == 'string' and name:match('^[%a_][%w_]*$') then return name end
  return format('%q', tostring(name))
end

--- A section path (already written, e.g. `"gmail.com".sources`) with more names after it.
function M.key(section, ...)
  local parts = { section }
  for _, part in ipairs({ ... }) do parts[#parts + 1] = M.quote(part) end
  return table.concat(parts, '.')
end

--- Checks a table's keys against `allowed` (a set); each other key is a problem.
function M.known_keys(problems, file, section, tbl, allowed)
  local names = {}
  for k in pairs(tbl) do names[#names + 1] = tostring(k) end
  table.sort(names)
  for _, k in ipairs(names) do
    if not allowed[k] then
      problems.add(file, section == '' and M.quote(k) or M.key(section, k), 'unknown key')
    end
  end
end

local caches = 0

--- `make()`'s value, kept for `ttl` (a duration) in a kumo.memoize cache that a config epoch
--- bump also empties: changed data files are read again then, or once the value expires.
--- Errors are not kept, so a file fixed after a failed load is read on the next call.
function M.cached(name, ttl, make)
  caches = caches + 1
  return kumo.memoize(make, {
    name = format('%s #%d', name, caches),
    ttl = ttl,
    capacity = 1,
    invalidate_with_epoch = true,
  })
end

--- `fn(arg)` memoized per argument for `ttl`, up to `capacity` arguments.
function M.memoized(name, ttl, capacity, fn)
  caches = caches + 1
  return kumo.memoize(fn, {
    name = format('%s #%d', name, caches),
    ttl = ttl,
    capacity = capacity,
    invalidate_with_epoch = true,
  })
end

--- Copies `from`'s entries over `into` (one level) and returns `into`.
function M.merge_into(from, into)
  for k, v in pairs(from) do into[k] = v end
  return into
end

--- Reports the problems found by `check()` from a `validate_config` handler: each is logged
--- naming the file and key, then `kumo.validation_failed()` marks the validation as failed.
function M.report(helper, list)
  if #list == 0 then return end
  for _, line in ipairs(list) do kumo.log_error(format('%s: %s', helper, line)) end
  if kumo.validation_failed then kumo.validation_failed() end
end

--- Raises the problems as one Lua error (a mistake met at run time, outside validation).
function M.raise(helper, list)
  if #list == 0 then return end
  error(format('%s: %s', helper, table.concat(list, '; ')), 0)
end

return M
