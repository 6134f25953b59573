-- The Lua message object and envelope addresses. A message is a small table holding a handle;
-- every method calls into the worker's TypeScript message state, so the daemon sees each
-- change when the call returns.
local H, kumo, internal = ...
local type, error, setmetatable, tostring, ipairs = type, error, setmetatable, tostring, ipairs

local Address = { __name = 'EnvelopeAddress' }
Address.__tostring = function(a) return a.email end
Address.__eq = function(a, b) return a.email == b.email end

local function make_address(email)
  if email == nil then return nil end
  local at = email:match('^.*()@')
  local user, domain = email, ''
  if at then user, domain = email:sub(1, at - 1), email:sub(at + 1) end
  return setmetatable({ email = email, user = user, domain = domain }, Address)
end
internal.make_address = make_address

local function address_text(v, what)
  if type(v) == 'string' then return v end
  if type(v) == 'table' and type(v.email) == 'string' then return v.email end
  error(what .. ': expected an address string or an EnvelopeAddress, got ' .. type(v), 3)
end

-- Parsed address headers (msg:from_header() …): a list of mailboxes, with accessors for the
-- common case of a single address that raise otherwise, as KumoMTA's AddressHeader does.
local Mailbox = { __name = 'Mailbox' }
local function quote_json(v)
  if v == nil then return 'null' end
  return '"' .. tostring(v):gsub('[%c"\\]', function(c) return string.format('\\u%04x', c:byte()) end) .. '"'
end
Mailbox.__tostring = function(m)
  return '{"name":' .. quote_json(m.name) .. ',"address":' .. quote_json(m.address) .. '}'
end
local AddressHeader = { __name = 'AddressHeader' }
local SINGLE = { user = true, domain = true, email = true, name = true }
AddressHeader.__index = function(self, key)
  if SINGLE[key] then
    local list = rawget(self, 'list')
    if #list ~= 1 then error('this address header does not hold exactly one simple address', 2) end
    return list[1][key]
  end
  return nil
end
AddressHeader.__tostring = function(self)
  local parts = {}
  for i, m in ipairs(rawget(self, 'list')) do parts[i] = tostring(m) end
  return '[' .. table.concat(parts, ',') .. ']'
end
local function address_header(raw)
  if raw == nil then return nil end
  local list = {}
  for i, m in ipairs(raw) do
    local a = make_address(m.address)
    list[i] = setmetatable({ name = m.name, address = m.address, email = m.address, user = a.user,
      domain = a.domain }, Mailbox)
  end
  return setmetatable({ list = list }, AddressHeader)
end

local Message = { __name = 'Message' }
local M = {}
Message.__index = M
Message.__tostring = function(m) return 'Message(' .. H.msg_id(m.__h) .. ')' end

function internal.new_message(h) return setmetatable({ __h = h }, Message) end
-- Other modules add their methods (kumo.dkim: dkim_sign, dkim_verify, …).
internal.message_methods = M

function M:id() return H.msg_id(self.__h) end
function M:sender() return make_address(H.msg_sender(self.__h)) end
function M:set_sender(v) H.msg_set_sender(self.__h, address_text(v, 'set_sender')) end
function M:recipient_list()
  local out = {}
  for i, r in ipairs(H.msg_recipients(self.__h)) do out[i] = make_address(r) end
  return out
end
function M:recipient()
  local list = H.msg_recipients(self.__h)
  if #list == 1 then return make_address(list[1]) end
  if #list == 0 then return nil end
  local out = {}
  for i, r in ipairs(list) do out[i] = make_address(r) end
  return out
end
function M:set_recipient(v)
  if type(v) == 'table' and v.email == nil then
    local list = {}
    for i, r in ipairs(v) do list[i] = address_text(r, 'set_recipient') end
    H.msg_set_recipients(self.__h, list)
  else
    H.msg_set_recipients(self.__h, { address_text(v, 'set_recipient') })
  end
end
function M:get_meta(key) return H.msg_get_meta(self.__h, key) end
function M:set_meta(key, value) H.msg_set_meta(self.__h, key, value) end
function M:get_data() return H.msg_get_data(self.__h) end
function M:set_data(data) H.msg_set_data(self.__h, data) end
function M:get_first_named_header_value(name) return H.msg_header(self.__h, name) end
function M:get_all_named_header_values(name) return H.msg_headers(self.__h, name) end
function M:get_all_headers() return H.msg_all_headers(self.__h) end
function M:prepend_header(name, value, encode) H.msg_add_header(self.__h, name, value, encode == true, true) end
function M:append_header(name, value, encode) H.msg_add_header(self.__h, name, value, encode == true, false) end
function M:remove_all_named_headers(name) H.msg_remove_headers(self.__h, name) end
function M:remove_x_headers(names) H.msg_remove_x_headers(self.__h, names) end
function M:import_headers(specs) H.msg_import_headers(self.__h, specs) end
function M:import_x_headers(names, first) H.msg_import_x_headers(self.__h, names, first == true) end
function M:check_fix_conformance(checks, fixes)
  return H.msg_check_fix_conformance(self.__h, checks, fixes)
end
function M:set_scheduling(params)
  H.msg_set_scheduling(self.__h, params)
  return params
end
function M:set_due(due) H.msg_set_due(self.__h, due) end
function M:import_scheduling_header(name, remove)
  local params = H.msg_header_json(self.__h, name, remove == true)
  if params == nil then return nil end
  return self:set_scheduling(params)
end
function M:get_address_header(name) return address_header(H.msg_address_header(self.__h, name)) end
function M:from_header() return self:get_address_header('From') end
function M:to_header() return self:get_address_header('To') end
-- Memory and spool management: the daemon keeps messages and writes the spool itself, so
-- these are accepted and have no effect (policies call them as hints).
function M:save() end
function M:shrink() end
function M:shrink_data() end
function M:set_force_sync(_) end
function M:queue_name() return H.msg_queue_name(self.__h) end
function M:num_attempts() return H.msg_num_attempts(self.__h) end
function M:increment_num_attempts() H.msg_increment_num_attempts(self.__h) end
