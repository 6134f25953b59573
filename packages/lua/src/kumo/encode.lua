-- kumo.encode: hex, base32 and base64 in KumoMTA's variants; bytes in, bytes out.
local H, kumo, internal = ...
local ipairs = ipairs

local ENCODINGS = { 'hex', 'base32', 'base32_nopad', 'base32hex', 'base32hex_nopad', 'base64',
  'base64_nopad', 'base64url', 'base64url_nopad' }
internal.ENCODINGS = ENCODINGS
local encode = {}
for _, e in ipairs(ENCODINGS) do
  encode[e .. '_encode'] = function(s) return H.encode(e, s) end
  encode[e .. '_decode'] = function(s) return H.decode(e, s) end
end
kumo.encode = encode
