/**
 * The `kumo` module's functions that are written in Lua: thin wrappers over host functions
 * (awaiting their promises where the host is asynchronous), `kumo.string`, and the HTTP
 * client builder.
 */
export const PRELUDE_KUMO = String.raw`
local H, kumo, internal = ...
local type, error, setmetatable, tostring, select, ipairs, rawget, rawset =
  type, error, setmetatable, tostring, select, ipairs, rawget, rawset
local concat, find, sub = table.concat, string.find, string.sub

local function join(sep, ...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return concat(parts, sep)
end

function print(...) H.print(join('\t', ...)) end

for _, level in ipairs({ 'error', 'warn', 'info', 'debug' }) do
  kumo['log_' .. level] = function(...) H.log(level, join(' ', ...)) end
end

function kumo.sleep(seconds) H.sleep(seconds):await() end
function kumo.available_parallelism() return H.available_parallelism() end

-- make_* validate in TypeScript (unknown keys, types, durations) and hand the table back.
for _, kind in ipairs({ 'queue_config', 'egress_path', 'egress_pool', 'egress_source', 'listener_domain' }) do
  kumo['make_' .. kind] = function(params)
    H.validate(kind, params)
    return params
  end
end

-- Configuration calls are validated, then handed to the daemon (which may refuse them).
local function configure(kind)
  return function(params)
    H.configure(kind, params):await()
  end
end
kumo.start_esmtp_listener = configure('esmtp_listener')
kumo.start_http_listener = configure('http_listener')
kumo.define_spool = configure('spool')
kumo.configure_local_logs = configure('local_logs')
kumo.configure_log_hook = configure('log_hook')
kumo.configure_bounce_classifier = configure('bounce_classifier')
kumo.configure_accounting_db_path = function(path) H.configure('accounting_db_path', { path = path }):await() end
kumo.set_diagnostic_log_filter = function(filter) H.configure('diagnostic_log_filter', { filter = filter }):await() end

local serde = {}
function serde.json_encode(v) return H.json_encode(v, false) end
function serde.json_encode_pretty(v) return H.json_encode(v, true) end
function serde.json_parse(s) return H.json_parse(s) end
function serde.json_load(path) return H.json_parse(H.fs_read_text(path)) end
kumo.serde = serde
kumo.json_encode, kumo.json_encode_pretty, kumo.json_parse, kumo.json_load =
  serde.json_encode, serde.json_encode_pretty, serde.json_parse, serde.json_load

local dns = {}
function dns.configure_resolver(params) H.configure('dns_resolver', params):await() end
function dns.lookup_mx(domain) return H.dns_lookup_mx(domain):await() end
function dns.lookup_addr(name) return H.dns_lookup_addr(name):await() end
function dns.lookup_txt(name) return H.dns_lookup_txt(name):await() end
function dns.lookup_ptr(ip) return H.dns_lookup_ptr(ip):await() end
kumo.dns = dns

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

-- kumo.string: literal (not pattern) matching, like Rust's str methods.
local S = {}
local function split_plain(s, sep, limit)
  local out, at = {}, 1
  if sep == '' then
    for i = 1, #s do out[#out + 1] = sub(s, i, i) end
    return out
  end
  while true do
    if limit and #out == limit - 1 then break end
    local i, j = find(s, sep, at, true)
    if not i then break end
    out[#out + 1] = sub(s, at, i - 1)
    at = j + 1
  end
  out[#out + 1] = sub(s, at)
  return out
end
function S.split(s, sep) return split_plain(s, sep) end
function S.splitn(s, n, sep) return split_plain(s, sep, n) end
function S.rsplit(s, sep)
  local parts, out = split_plain(s, sep), {}
  for i = #parts, 1, -1 do out[#out + 1] = parts[i] end
  return out
end
function S.rsplitn(s, n, sep)
  local parts, out = split_plain(s, sep), {}
  local i = #parts
  while i >= 1 and #out < n - 1 do out[#out + 1] = parts[i]; i = i - 1 end
  if i >= 1 then out[#out + 1] = concat(parts, sep, 1, i) end
  return out
end
function S.split_whitespace(s)
  local out = {}
  for w in s:gmatch('%S+') do out[#out + 1] = w end
  return out
end
S.split_ascii_whitespace = S.split_whitespace
function S.replace(s, from, to) return concat(split_plain(s, from), to) end
function S.replacen(s, from, to, n) return concat(split_plain(s, from, n + 1), to) end
function S.starts_with(s, prefix) return sub(s, 1, #prefix) == prefix end
function S.ends_with(s, suffix) return suffix == '' or sub(s, -#suffix) == suffix end
function S.trim(s) return (s:gsub('^%s+', ''):gsub('%s+$', '')) end
function S.trim_start(s) return (s:gsub('^%s+', '')) end
function S.trim_end(s) return (s:gsub('%s+$', '')) end
-- Breaks at white space to keep lines near SOFT, hard-breaks words longer than HARD; breaks
-- are CRLF TAB (header folding). Runs of white space between words become one space.
function S.wrap(text, soft, hard)
  soft, hard = soft or 75, hard or 900
  local lines, line = {}, ''
  for word in text:gmatch('%S+') do
    while #word > hard do
      if line ~= '' then lines[#lines + 1] = line; line = '' end
      lines[#lines + 1] = sub(word, 1, hard)
      word = sub(word, hard + 1)
    end
    if line == '' then line = word
    elseif #line + 1 + #word <= soft then line = line .. ' ' .. word
    else lines[#lines + 1] = line; line = word end
  end
  if line ~= '' then lines[#lines + 1] = line end
  return concat(lines, '\r\n\t')
end
kumo.string = S

-- kumo.http: a builder over the worker's fetch.
local http = {}
local Client, Request, Response = {}, {}, {}
Client.__index, Request.__index, Response.__index = Client, Request, Response
function http.build_client(opts) return setmetatable({ opts = opts or {} }, Client) end
function Client:request(method, url)
  return setmetatable({ method = method, url = url, hdrs = {}, client = self.opts }, Request)
end
for _, m in ipairs({ 'get', 'post', 'put', 'patch', 'delete', 'head' }) do
  Client[m] = function(self, url) return self:request(m:upper(), url) end
end
function Client:close() end
function Request:header(k, v) self.hdrs[#self.hdrs + 1] = { k, v } return self end
function Request:headers(t) for k, v in pairs(t) do self:header(k, v) end return self end
function Request:body(b) self.payload = b return self end
function Request:basic_auth(user, password) self.auth = { user, password } return self end
function Request:bearer_auth(token) return self:header('Authorization', 'Bearer ' .. token) end
function Request:timeout(d) self.timeout_value = d return self end
function Request:send()
  local r = H.http_send(self.method, self.url, self.hdrs, self.payload, self.auth,
    self.timeout_value or self.client.timeout):await()
  return setmetatable(r, Response)
end
function Response:status_code() return self.status end
function Response:status_reason() return self.reason end
function Response:status_is_success() return self.status >= 200 and self.status < 300 end
function Response:status_is_client_error() return self.status >= 400 and self.status < 500 end
function Response:status_is_server_error() return self.status >= 500 and self.status < 600 end
function Response:text() return self.body end
function Response:bytes() return self.body end
function Response:headers() return self.header_map end
kumo.http = http

-- kumo.digest and kumo.encode: bytes in, bytes out.
local ENCODINGS = { 'hex', 'base32', 'base32_nopad', 'base32hex', 'base32hex_nopad', 'base64',
  'base64_nopad', 'base64url', 'base64url_nopad' }
local is_encoding = {}
for _, e in ipairs(ENCODINGS) do is_encoding[e] = true end
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
local encode = {}
for _, e in ipairs(ENCODINGS) do
  encode[e .. '_encode'] = function(s) return H.encode(e, s) end
  encode[e .. '_decode'] = function(s) return H.decode(e, s) end
end
kumo.encode = encode

kumo.secrets = { load = function(source) return H.secret(source) end }

-- kumo.cidr.make_map: the map lives in the worker; this table is its handle.
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
`;
