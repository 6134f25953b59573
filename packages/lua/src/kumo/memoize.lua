-- kumo.memoize: a function's results cached per argument list, in named caches with a time to
-- live and a capacity (least recently used evicted first). Each Lua context is its own worker,
-- so a cache lives in one context and is not shared with the others.
local H, kumo = ...
local type, pairs, ipairs, error, getmetatable, tostring, select = type, pairs, ipairs, error, getmetatable, tostring, select
local mtype, format = math.type, string.format
local concat, sort, pack, unpack = table.concat, table.sort, table.pack, table.unpack

-- The argument list as one string: equal lists (tables compared by content) give equal keys.
local function encode(v, out, seen, what)
  local t = type(v)
  if t == 'nil' then
    out[#out + 1] = 'n'
  elseif t == 'boolean' then
    out[#out + 1] = v and 't' or 'f'
  elseif t == 'number' then
    out[#out + 1] = mtype(v) == 'integer' and format('i%d;', v) or format('d%.17g;', v)
  elseif t == 'string' then
    out[#out + 1] = format('s%d:', #v)
    out[#out + 1] = v
  elseif t == 'table' and getmetatable(v) == nil then
    if seen[v] then error(what .. ': an argument is a table that contains itself', 4) end
    seen[v] = true
    local entries = {}
    for k, x in pairs(v) do
      local key = {}
      encode(k, key, seen, what)
      entries[#entries + 1] = { concat(key), x }
    end
    sort(entries, function(a, b) return a[1] < b[1] end)
    out[#out + 1] = '{'
    for _, e in ipairs(entries) do
      out[#out + 1] = e[1]
      encode(e[2], out, seen, what)
    end
    out[#out + 1] = '}'
    seen[v] = nil
  else
    local name = t == 'table' and 'table with a metatable' or t
    error(format('%s: cannot use a %s as an argument of a memoized function', what, name), 4)
  end
end

-- Plain tables are copied (into and out of the cache), as KumoMTA hands out a fresh table on
-- every call; objects (tables with a metatable) are shared as they are.
local function copy(v, seen)
  if type(v) ~= 'table' or getmetatable(v) ~= nil then return v end
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[copy(k, seen)] = copy(x, seen) end
  return c
end

local function copy_all(values)
  local out = { n = values.n }
  local seen = {}
  for i = 1, values.n do out[i] = copy(values[i], seen) end
  return out
end

-- A cache: entries by key in a doubly linked list, most recently used first.
local caches = {}

local function unlink(cache, node)
  if node.prev then node.prev.next = node.next else cache.head = node.next end
  if node.next then node.next.prev = node.prev else cache.tail = node.prev end
  node.prev, node.next = nil, nil
end

local function push_front(cache, node)
  node.next = cache.head
  if cache.head then cache.head.prev = node end
  cache.head = node
  if not cache.tail then cache.tail = node end
end

local function remove(cache, node)
  unlink(cache, node)
  cache.entries[node.key] = nil
  cache.size = cache.size - 1
end

local function clear(cache)
  cache.entries, cache.head, cache.tail, cache.size = {}, nil, nil, 0
end

local function trim(cache)
  while cache.size > cache.capacity do remove(cache, cache.tail) end
end

local function lookup(cache, key, now)
  if cache.invalidate_with_epoch then
    local epoch = H.config_epoch()
    if epoch ~= cache.epoch then
      clear(cache)
      cache.epoch = epoch
    end
  end
  local node = cache.entries[key]
  if node == nil then return nil end
  if node.expires <= now then
    remove(cache, node)
    return nil
  end
  unlink(cache, node)
  push_front(cache, node)
  return node
end

local function store(cache, key, values, now)
  local old = cache.entries[key]
  if old then remove(cache, old) end
  local node = { key = key, values = values, expires = now + cache.ttl_ms }
  cache.entries[key] = node
  cache.size = cache.size + 1
  push_front(cache, node)
  trim(cache)
end

local function check_params(params)
  local what = 'kumo.memoize'
  if type(params) ~= 'table' then error(what .. ': expected a table of parameters {name=, ttl=, capacity=}', 3) end
  local name = params.name
  if type(name) ~= 'string' then error(what .. ': name: expected a string, got ' .. type(name), 3) end
  what = what .. ' ' .. name
  if params.ttl == nil then error(what .. ': ttl: missing (a duration such as \'5 minutes\')', 3) end
  local ttl = H.duration_seconds(params.ttl, what .. ': ttl')
  local capacity = params.capacity
  if mtype(capacity) ~= 'integer' and not (mtype(capacity) == 'float' and capacity == math.floor(capacity)) then
    error(what .. ': capacity: expected a whole number, got ' .. tostring(capacity), 3)
  end
  if capacity < 1 then error(what .. ': capacity: must be at least 1, got ' .. tostring(capacity), 3) end
  local invalidate = params.invalidate_with_epoch
  if invalidate ~= nil and type(invalidate) ~= 'boolean' then
    error(what .. ': invalidate_with_epoch: expected a boolean, got ' .. type(invalidate), 3)
  end
  return name, ttl * 1000, math.tointeger(capacity), invalidate == true, what
end

function kumo.memoize(fn, params)
  if type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
    error('kumo.memoize: expected a function to memoize, got ' .. type(fn), 2)
  end
  local name, ttl_ms, capacity, invalidate, what = check_params(params)
  -- Caches are found by name, as in KumoMTA: memoizing again under a name reuses its entries
  -- (with the latest parameters).
  local cache = caches[name]
  if cache == nil then
    cache = { epoch = nil }
    clear(cache)
    caches[name] = cache
  end
  cache.ttl_ms, cache.capacity, cache.invalidate_with_epoch = ttl_ms, capacity, invalidate
  trim(cache)
  return function(...)
    local parts = {}
    local seen = {}
    for i = 1, select('#', ...) do
      encode((select(i, ...)), parts, seen, what)
    end
    local key = concat(parts)
    local hit = lookup(cache, key, H.now_ms())
    if hit then
      local values = copy_all(hit.values)
      return unpack(values, 1, values.n)
    end
    -- An error raised by fn propagates as it is; nothing is cached.
    local values = pack(fn(...))
    store(cache, key, copy_all(values), H.now_ms())
    return unpack(values, 1, values.n)
  end
end

-- kumo.set_lruttl_cache_capacity(name, capacity): a memoize cache of that name takes the new
-- capacity (evicting down to it); KumoMTA's built-in caches have no counterpart here.
function kumo.set_lruttl_cache_capacity(name, capacity)
  if type(name) ~= 'string' then error('kumo.set_lruttl_cache_capacity: name: expected a string, got ' .. type(name), 2) end
  if mtype(capacity) ~= 'integer' or capacity < 0 then
    error('kumo.set_lruttl_cache_capacity: capacity: expected a whole number, got ' .. tostring(capacity), 2)
  end
  local cache = caches[name]
  if cache then
    cache.capacity = capacity
    trim(cache)
  end
end

-- kumo.purge_lruttl_cache(name): empties one cache; the number of entries removed, or nil when
-- there is no cache of that name.
function kumo.purge_lruttl_cache(name)
  if type(name) ~= 'string' then error('kumo.purge_lruttl_cache: name: expected a string, got ' .. type(name), 2) end
  local cache = caches[name]
  if cache == nil then return nil end
  local n = cache.size
  clear(cache)
  return n
end
