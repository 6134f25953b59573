-- kumo.http: a request builder over the worker's fetch; `send` awaits the response.
local H, kumo = ...
local setmetatable, ipairs = setmetatable, ipairs

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
