-- kumo.serde: JSON (with comments, as KumoMTA reads it), and its aliases on `kumo`.
local H, kumo = ...

local serde = {}
function serde.json_encode(v) return H.json_encode(v, false) end
function serde.json_encode_pretty(v) return H.json_encode(v, true) end
function serde.json_parse(s) return H.json_parse(s) end
function serde.json_load(path) return H.json_parse(H.fs_read_text(path)) end
kumo.serde = serde
kumo.json_encode, kumo.json_encode_pretty, kumo.json_parse, kumo.json_load =
  serde.json_encode, serde.json_encode_pretty, serde.json_parse, serde.json_load
