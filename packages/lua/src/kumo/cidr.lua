-- kumo.cidr.make_map: the map lives in the worker (TypeScript); this table is its handle.
local H, kumo = ...
local setmetatable, rawget = setmetatable, rawget

local CidrMap = { __name = 'CidrMap' }
CidrMap.__index = function(m, key) return H.cidr_get(rawget(m, '__id'), key) end
CidrMap.__newindex = function(m, key, value) H.cidr_set(rawget(m, '__id'), key, value) end
CidrMap.__gc = function(m) H.cidr_free(rawget(m, '__id')) end
kumo.cidr = {
  make_map = function(init)
    local m = setmetatable({ __id = H.cidr_new() }, CidrMap)
    if init ~= nil then
      for k, v in pairs(init) do m[k] = v end
    end
    return m
  end,
}
