-- kumo.secrets: a KeySource (a file path or { key_data = … }) read as bytes.
local H, kumo = ...

kumo.secrets = { load = function(source) return H.secret(source) end }
