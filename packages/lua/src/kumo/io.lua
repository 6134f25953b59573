-- Gives the policy the machine's file system and environment. Under wasmoon, Lua's own `io`,
-- `os.getenv`, `dofile` and `require` see Emscripten's in-memory world; these replacements
-- read and write the real files through the worker (synchronously: the worker is not the
-- daemon's event loop) and read the real `process.env`. Runs last: `require 'kumo.dns'` and
-- the others find the modules built before it.
local H, kumo, internal, policy_dir, extras_root = ...
local type, error, setmetatable, tostring, load, select = type, error, setmetatable, tostring, load, select
local concat, sub, find, format = table.concat, string.sub, string.find, string.format

os.getenv = function(name) return H.getenv(name) end

local File = { __name = 'FILE*' }
File.__index = File
File.__tostring = function(f) return f.closed and 'file (closed)' or 'file (' .. f.path .. ')' end

local function read_one(f, fmt)
  local data = f.data
  if type(fmt) == 'number' then
    if f.pos > #data then return nil end
    local s = sub(data, f.pos, f.pos + fmt - 1)
    f.pos = f.pos + #s
    return s
  end
  fmt = fmt:gsub('^%*', '')
  local c = sub(fmt, 1, 1)
  if c == 'a' then
    local s = sub(data, f.pos)
    f.pos = #data + 1
    return s
  elseif c == 'l' or c == 'L' then
    if f.pos > #data then return nil end
    local nl = find(data, '\n', f.pos, true)
    local line
    if nl then
      line = sub(data, f.pos, c == 'L' and nl or nl - 1)
      f.pos = nl + 1
    else
      line = sub(data, f.pos)
      f.pos = #data + 1
    end
    return line
  elseif c == 'n' then
    local s, e = find(data, '^%s*[-+]?%d*%.?%d+[eE]?[-+]?%d*', f.pos)
    if not s then return nil end
    f.pos = e + 1
    return tonumber(sub(data, s, e))
  end
  error("bad argument to 'read' (invalid format)", 3)
end

function File:read(...)
  if self.closed then error('attempt to use a closed file', 2) end
  if self.data == nil then return nil, 'Bad file descriptor', 9 end
  local n = select('#', ...)
  if n == 0 then return read_one(self, 'l') end
  local out = {}
  for i = 1, n do
    out[i] = read_one(self, (select(i, ...)))
    if out[i] == nil then return table.unpack(out, 1, i) end
  end
  return table.unpack(out, 1, n)
end

function File:lines(...)
  local fmts = table.pack(...)
  if fmts.n == 0 then fmts = { 'l', n = 1 } end
  return function() return self:read(table.unpack(fmts, 1, fmts.n)) end
end

function File:write(...)
  if self.closed then error('attempt to use a closed file', 2) end
  if self.buffer == nil then return nil, 'Bad file descriptor', 9 end
  for i = 1, select('#', ...) do self.buffer[#self.buffer + 1] = tostring((select(i, ...))) end
  return self
end

function File:flush()
  if self.buffer ~= nil and #self.buffer > 0 then
    H.fs_write(self.path, concat(self.buffer), true)
    self.buffer = {}
  end
  return self
end

function File:seek(whence, offset)
  if self.data == nil then return nil, 'Illegal seek', 29 end
  whence, offset = whence or 'cur', offset or 0
  if whence == 'set' then self.pos = offset + 1
  elseif whence == 'cur' then self.pos = self.pos + offset
  elseif whence == 'end' then self.pos = #self.data + offset + 1 end
  return self.pos - 1
end

function File:setvbuf() return true end

function File:close()
  if self.closed then error('attempt to use a closed file', 2) end
  self:flush()
  self.closed = true
  return true
end

function io.open(path, mode)
  mode = mode or 'r'
  local m = sub(mode, 1, 1)
  if m == 'r' then
    local data, err, code = H.fs_read(path)
    if data == nil then return nil, path .. ': ' .. err, code end
    return setmetatable({ path = path, data = data, pos = 1 }, File)
  elseif m == 'w' or m == 'a' then
    local ok, err, code = H.fs_write(path, '', m == 'a')
    if not ok then return nil, path .. ': ' .. err, code end
    return setmetatable({ path = path, buffer = {} }, File)
  end
  error("bad argument #2 to 'open' (invalid mode)", 2)
end

function io.lines(path, ...)
  if path == nil then error('io.lines: reading standard input is not supported', 2) end
  local f, err = io.open(path)
  if not f then error(err, 2) end
  return f:lines(...)
end

function loadfile(path, mode, env)
  local text, err = H.fs_read(path)
  if text == nil then return nil, 'cannot open ' .. path .. ': ' .. err end
  if env ~= nil then return load(text, '@' .. path, mode or 'bt', env) end
  return load(text, '@' .. path, mode or 'bt')
end

function dofile(path)
  local chunk, err = loadfile(path)
  if not chunk then error(err, 2) end
  return chunk()
end

-- require: the policy's folder first, then the usual relative templates; then, for the
-- `policy-extras.*` helper modules only, the copies that ship with Sterna (a policy's own
-- `policy-extras/` folder, found first, overrides them).
package.path = policy_dir .. '/?.lua;' .. policy_dir .. '/?/init.lua;./?.lua;./?/init.lua'
package.cpath = ''
local function search_in(name, templates, tried)
  local stem = name:gsub('%.', '/')
  for template in templates:gmatch('[^;]+') do
    local path = template:gsub('%?', stem)
    local text = H.fs_read(path)
    if text ~= nil then
      local chunk, err = load(text, '@' .. path)
      if not chunk then
        error(format('error loading module %s from file %s:\n\t%s', name, path, err), 0)
      end
      return chunk, path
    end
    tried[#tried + 1] = "\n\tno file '" .. path .. "'"
  end
end
local function search_file(name)
  local tried = {}
  local chunk, path = search_in(name, package.path, tried)
  if chunk then return chunk, path end
  if sub(name, 1, 14) == 'policy-extras.' and not find(name, '..', 1, true) then
    chunk, path = search_in(name, extras_root .. '/?.lua', tried)
    if chunk then return chunk, path end
  end
  return concat(tried)
end
package.searchers = { package.searchers[1], search_file }
package.loaded.kumo = kumo
package.loaded['kumo.string'] = kumo.string
package.loaded['kumo.serde'] = kumo.serde
package.loaded['kumo.dns'] = kumo.dns
package.loaded['kumo.http'] = kumo.http
package.loaded['kumo.uuid'] = kumo.uuid
package.loaded['kumo.digest'] = kumo.digest
package.loaded['kumo.dkim'] = kumo.dkim
package.loaded['kumo.cidr'] = kumo.cidr
package.loaded['kumo.secrets'] = kumo.secrets
package.loaded['kumo.encode'] = kumo.encode
package.loaded['kumo.domain_map'] = kumo.domain_map
package.loaded['kumo.regex'] = kumo.regex
package.loaded['kumo.redis'] = kumo.redis
package.loaded.redis = kumo.redis
package.loaded['kumo.amqp'] = kumo.amqp
package.loaded['kumo.nats'] = kumo.nats
package.loaded['kumo.kafka'] = kumo.kafka
_G.kumo = kumo
