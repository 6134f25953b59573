-- kumo.digest: hashes and HMACs as Digest objects, whose encodings are computed on first use.
local H, kumo, internal = ...
local setmetatable, rawget, rawset, ipairs = setmetatable, rawget, rawset, ipairs

local is_encoding = {}
for _, e in ipairs(internal.ENCODINGS) do is_encoding[e] = true end
local Digest = { __name = 'Digest' }
Digest.__index = function(d, key)
  if is_encoding[key] then
    local v = H.encode(key, rawget(d, 'bytes'))
    rawset(d, key, v)
    return v
  end
end
Digest.__tostring = function(d) return d.hex end
local digest = {}
for _, alg in ipairs({ 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha512_256', 'sha3_256',
    'sha3_384', 'sha3_512', 'crc32', 'hmac_sha1', 'hmac_sha224', 'hmac_sha256', 'hmac_sha384',
    'hmac_sha512' }) do
  digest[alg] = function(...) return setmetatable({ bytes = H.digest(alg, ...) }, Digest) end
end
kumo.digest = digest
