-- kumo.serde: JSON (with comments, as KumoMTA reads it), TOML and YAML, parsed in this worker;
-- and the deprecated aliases on `kumo` that KumoMTA keeps for JSON and TOML (none for YAML).
local H, kumo = ...

local serde = {}
function serde.json_encode(v) return H.json_encode(v, false) end
function serde.json_encode_pretty(v) return H.json_encode(v, true) end
function serde.json_parse(s) return H.json_parse(s) end
function serde.json_load(path) return H.serde_load('json', path) end
function serde.toml_parse(s) return H.serde_parse('toml', s) end
function serde.toml_load(path) return H.serde_load('toml', path) end
function serde.toml_encode(v) return H.serde_encode('toml', v) end
-- TOML has one layout here: the pretty form is the same text.
serde.toml_encode_pretty = serde.toml_encode
function serde.yaml_parse(s) return H.serde_parse('yaml', s) end
function serde.yaml_load(path) return H.serde_load('yaml', path) end
function serde.yaml_encode(v) return H.serde_encode('yaml', v) end
kumo.serde = serde

for _, name in ipairs({
  'json_encode', 'json_encode_pretty', 'json_parse', 'json_load',
  'toml_encode', 'toml_encode_pretty', 'toml_parse', 'toml_load',
}) do
  kumo[name] = serde[name]
end
