-- kumo.uuid: UUID objects with KumoMTA's fields (hyphenated, simple, urn, braced, bytes).
local H, kumo = ...
local setmetatable = setmetatable

local uuid = {}
local Uuid = { __name = 'Uuid' }
Uuid.__tostring = function(u) return u.hyphenated end
local function make_uuid(text)
  local simple = text:gsub('-', '')
  local bytes = simple:gsub('..', function(h) return string.char(tonumber(h, 16)) end)
  return setmetatable({ hyphenated = text, simple = simple, urn = 'urn:uuid:' .. text,
    braced = '{' .. text .. '}', bytes = bytes }, Uuid)
end
function uuid.new_v4() return make_uuid(H.uuid('v4')) end
function uuid.new_v1() return make_uuid(H.uuid('v1')) end
function uuid.new_v7() return make_uuid(H.uuid('v7')) end
function uuid.parse(text) return make_uuid(H.uuid_parse(text)) end
kumo.uuid = uuid
