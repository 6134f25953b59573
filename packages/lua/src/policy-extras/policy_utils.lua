-- policy-extras.policy_utils: Sterna's implementation of the small helper library KumoMTA ships
-- for policies and the other helpers: table merging and comparison, assertions, loading a data
-- file by its extension, string and address odds and ends.
--
--   local utils = require 'policy-extras.policy_utils'
--   local data = utils.load_json_or_toml_file '/opt/kumomta/etc/policy/queues.toml'
local kumo = require 'kumo'

local mod = {}

local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local format, sub, rep, lower = string.format, string.sub, string.rep, string.lower
local insert, sort, concat = table.insert, table.sort, table.concat

local function is_container(value)
  local t = type(value)
  return t == 'table' or t == 'userdata'
end

--- Deep equality: tables (and userdata) are equal when they hold equal values under the same
--- keys. A table whose metatable defines `__eq` is compared with it, unless `ignore_mt`.
function mod.equals(a, b, ignore_mt)
  if a == b then return true end
  if not is_container(a) or not is_container(b) then return false end
  if not ignore_mt then
    local mt = getmetatable(a)
    if type(mt) == 'table' and mt.__eq then return a == b end
  end
  for key, value in pairs(a) do
    local other = b[key]
    if other == nil or not mod.equals(value, other, ignore_mt) then return false end
  end
  for key in pairs(b) do
    if a[key] == nil then return false end
  end
  return true
end

local function encode(value)
  local ok, text = pcall(kumo.serde.json_encode, value)
  if ok then return text end
  return tostring(value)
end

local function fail(message, text)
  local prefix = message and (tostring(message) .. '. ') or ''
  error(prefix .. text, 3)
end

--- Raises (at the caller's line) unless `a` and `b` are `equals`.
function mod.assert_eq(a, b, message)
  if not mod.equals(a, b) then fail(message, format('expected\n%s\n == \n%s', encode(a), encode(b))) end
end

--- Raises (at the caller's line) if `a` and `b` are `equals`.
function mod.assert_ne(a, b, message)
  if mod.equals(a, b) then fail(message, format('expected\n%s\n != \n%s', encode(a), encode(b))) end
end

--- Raises (at the caller's line) unless the string `a` matches the regular expression `pattern`
--- (Rust syntax, compiled with `kumo.regex.compile`; matching anywhere in `a` unless anchored).
function mod.assert_matches(a, pattern, message)
  if not kumo.regex.compile(pattern):is_match(a) then
    fail(message, format('expected\n "%s"\n to match\n "%s"', tostring(a), tostring(pattern)))
  end
end

--- Copies every key of `src` into `dest` (one level: a table value replaces the one in `dest`).
--- A nil `src` changes nothing.
function mod.merge_into(src, dest)
  if src == nil then return end
  for key, value in pairs(src) do dest[key] = value end
end

--- Like `merge_into`, but a table value is merged into the table `dest` already holds under
--- that key (when it holds one), level by level.
function mod.recursive_merge_into(src, dest)
  if src == nil then return end
  for key, value in pairs(src) do
    local current = dest[key]
    if type(value) == 'table' and type(current) == 'table' then
      mod.recursive_merge_into(value, current)
    else
      dest[key] = value
    end
  end
end

--- True when some value of `tbl` is `value` (false for a nil `value`).
function mod.table_contains(tbl, value)
  if value == nil then return false end
  for _, v in pairs(tbl) do
    if v == value then return true end
  end
  return false
end

--- The keys of `tbl`, as an array (in `pairs` order).
function mod.table_keys(tbl)
  local keys = {}
  for key in pairs(tbl) do keys[#keys + 1] = key end
  return keys
end

--- True when `tbl` has no key at all.
function mod.table_is_empty(tbl)
  return next(tbl) == nil
end

--- Reads a data file by its extension: `.toml` with `kumo.serde.toml_load`, `.yaml`/`.yml` with
--- `kumo.serde.yaml_load`, anything else as JSON (`kumo.serde.json_load`, which accepts
--- comments). A table
--- instead of a file name is the data itself (KumoMTA's Lua-table form) and is returned as is.
function mod.load_json_or_toml_file(filename)
  if type(filename) == 'table' then return filename end
  if type(filename) ~= 'string' then
    error(format('expected a file name or a table of data, got %s', type(filename)), 2)
  end
  local name = lower(filename)
  local serde = kumo.serde or kumo
  if name:match('%.toml$') then return serde.toml_load(filename) end
  if name:match('%.ya?ml$') then return serde.yaml_load(filename) end
  return serde.json_load(filename)
end

--- True when the string `s` starts with `text`.
function mod.starts_with(s, text)
  return sub(s, 1, #text) == text
end

--- True when the string `s` ends with `text` (always for an empty `text`).
function mod.ends_with(s, text)
  return #text == 0 or sub(s, -#text) == text
end

--- Splits `'127.0.0.1:25'` into `'127.0.0.1', '25'` and `'[::1]:25'` into `'::1', '25'`
--- (the port stays a string). Without a port, returns nil.
function mod.split_ip_port(ip_port)
  local ip, port = tostring(ip_port):match('^(.*):(%d+)$')
  if ip == nil then return nil end
  local bare = ip:match('^%[(.*)%]$')
  return bare or ip, port
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == 'number' or ta == 'string' then return a < b end
  return tostring(a) < tostring(b)
end

local function dump(value, indent, seen)
  local t = type(value)
  if t == 'number' or t == 'boolean' then return tostring(value) end
  if t ~= 'table' then return format('%q', tostring(value)) end
  if seen[value] then return '[recursive node]' end
  local mt = getmetatable(value)
  if type(mt) == 'table' and mt.__tostring then return tostring(value) end
  local keys = mod.table_keys(value)
  if #keys == 0 then return '{}' end
  sort(keys, key_order)
  seen[value] = true
  local pad = rep(' ', indent)
  local lines = {}
  for _, key in ipairs(keys) do
    local shown = type(key) == 'string' and format('%q', key) or tostring(key)
    insert(lines, format('%s[%s] = %s', pad, shown, dump(value[key], indent + 2, seen)))
  end
  seen[value] = nil
  return '{\n' .. concat(lines, ',\n') .. '\n' .. rep(' ', indent - 2) .. '}'
end

--- A readable, Lua-like rendering of `value` for debugging: tables with their keys sorted, one
--- entry a line. nil for nil.
function mod.dumps(value)
  if value == nil then return nil end
  return dump(value, 2, {})
end

return mod
