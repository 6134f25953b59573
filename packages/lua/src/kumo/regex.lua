-- kumo.regex: Rust regex syntax (and fancy-regex's look-around and back-references), translated
-- to JavaScript's engine in TypeScript (kumo/regex-translate.ts); what cannot be translated is
-- refused when compiled.
local H, kumo = ...
local setmetatable, type, error, tostring = setmetatable, type, error, tostring

local Regex = { __name = 'Regex' }
Regex.__index = Regex
Regex.__tostring = function(re) return re.pattern end

local function text(v, method)
  if type(v) ~= 'string' then error('regex:' .. method .. ': expected a string, got ' .. type(v), 3) end
  return v
end

function Regex:is_match(haystack) return H.regex('is_match', self.pattern, text(haystack, 'is_match')) end
function Regex:find(haystack) return H.regex('find', self.pattern, text(haystack, 'find')) end
function Regex:find_all(haystack) return H.regex('find_all', self.pattern, text(haystack, 'find_all')) end
function Regex:split(haystack) return H.regex('split', self.pattern, text(haystack, 'split')) end
function Regex:captures(haystack)
  local found = H.regex('captures', self.pattern, text(haystack, 'captures'))
  if found == nil then return nil end
  local values, names = found[1], found[2]
  local cap = {}
  for i = 1, #names do
    local v = values[i]
    if v ~= false and v ~= nil then
      cap[i - 1] = v
      if names[i] then cap[names[i]] = v end
    end
  end
  return cap
end
function Regex:replace(haystack, replacement)
  return H.regex('replace', self.pattern, text(haystack, 'replace'), 1, text(replacement, 'replace'))
end
function Regex:replace_all(haystack, replacement)
  return H.regex('replace', self.pattern, text(haystack, 'replace_all'), 0, text(replacement, 'replace_all'))
end
function Regex:replacen(haystack, limit, replacement)
  if math.type(limit) ~= 'integer' or limit < 0 then
    error('regex:replacen: limit: expected a whole number, got ' .. tostring(limit), 2)
  end
  return H.regex('replace', self.pattern, text(haystack, 'replacen'), limit, text(replacement, 'replacen'))
end

kumo.regex = {
  compile = function(pattern)
    if type(pattern) ~= 'string' then error('kumo.regex.compile: expected a pattern string, got ' .. type(pattern), 2) end
    H.regex('compile', pattern)
    return setmetatable({ pattern = pattern }, Regex)
  end,
  escape = function(s)
    if type(s) ~= 'string' then error('kumo.regex.escape: expected a string, got ' .. type(s), 2) end
    return H.regex('escape', s)
  end,
}
