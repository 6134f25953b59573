-- kumo.domain_map.new([table]): a table keyed by domain name where `*.example.com` keys match
-- every name below example.com (not example.com itself). An exact key wins; otherwise the
-- wildcard closest to the name (the longest) does. Names compare case-insensitively.
local _, kumo = ...
local type, error, setmetatable, pairs = type, error, setmetatable, pairs
local lower, sub, find = string.lower, string.sub, string.find

-- Entries live beside the map object (weak keys), so no key a policy uses can collide with them.
local store = setmetatable({}, { __mode = 'k' })

local function key_of(key, what)
  if type(key) ~= 'string' then
    error('kumo.domain_map: ' .. what .. ': expected a domain name (a string), got ' .. type(key), 3)
  end
  return lower(key)
end

local DomainMap = { __name = 'DomainMap' }

DomainMap.__index = function(map, key)
  if type(key) ~= 'string' then return nil end
  local entries = store[map]
  local name = lower(key)
  local value = entries.exact[name]
  if value ~= nil then return value end
  -- '*.b.example.com', then '*.example.com', then '*.com'
  local at = find(name, '.', 1, true)
  while at do
    value = entries.wild[sub(name, at + 1)]
    if value ~= nil then return value end
    at = find(name, '.', at + 1, true)
  end
  return nil
end

DomainMap.__newindex = function(map, key, value)
  local name = key_of(key, 'key')
  local entries = store[map]
  if sub(name, 1, 2) == '*.' then
    entries.wild[sub(name, 3)] = value
  else
    entries.exact[name] = value
  end
end

DomainMap.__tostring = function(map)
  local n = 0
  local entries = store[map]
  for _ in pairs(entries.exact) do n = n + 1 end
  for _ in pairs(entries.wild) do n = n + 1 end
  return 'DomainMap(' .. n .. ' entries)'
end

kumo.domain_map = {
  new = function(init)
    if init ~= nil and type(init) ~= 'table' then
      error('kumo.domain_map.new: expected a table of domain = value, got ' .. type(init), 2)
    end
    local map = setmetatable({}, DomainMap)
    store[map] = { exact = {}, wild = {} }
    if init ~= nil then
      for k, v in pairs(init) do map[k] = v end
    end
    return map
  end,
}
