-- kumo.dkim: signers, and the message's DKIM methods (sign, verify, Authentication-Results).
local H, kumo, internal = ...
local type, error, setmetatable, ipairs = type, error, setmetatable, ipairs
local M = internal.message_methods

local dkim = {}
local Signer = { __name = 'DkimSigner' }
for _, kind in ipairs({ 'rsa_sha256', 'ed25519' }) do
  dkim[kind .. '_signer'] = function(params)
    H.dkim_signer(kind, params)
    return setmetatable({ __dkim_kind = kind, params = params }, Signer)
  end
end
kumo.dkim = dkim

function M:dkim_sign(signer)
  if type(signer) ~= 'table' or signer.__dkim_kind == nil then
    error('dkim_sign: expected a signer from kumo.dkim.rsa_sha256_signer or ed25519_signer', 2)
  end
  H.msg_dkim_sign(self.__h, signer.__dkim_kind, signer.params)
end
function M:dkim_verify() return H.msg_dkim_verify(self.__h):await() end
function M:add_authentication_results(server_id, results)
  H.msg_add_auth_results(self.__h, server_id, results)
end
