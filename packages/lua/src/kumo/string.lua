-- kumo.string: literal (not pattern) matching, like Rust's str methods.
local H, kumo = ...
local concat, find, sub = table.concat, string.find, string.sub

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
-- MiniJinja templates (the name's extension chooses the escaping: .html, .json, …) and the
-- Public Suffix List, in TypeScript (kumo/string-functions.ts).
function S.eval_template(name, source, context)
  if type(name) ~= 'string' then error('kumo.string.eval_template: name: expected a string, got ' .. type(name), 2) end
  if type(source) ~= 'string' then error('kumo.string.eval_template: source: expected a string, got ' .. type(source), 2) end
  return H.eval_template(name, source, context)
end
for _, what in ipairs({ 'domain', 'suffix', 'domain_known', 'suffix_known' }) do
  local name = 'psl_' .. what:gsub('_known$', '_is_known')
  S[name] = function(s)
    if type(s) ~= 'string' then error('kumo.string.' .. name .. ': expected a string, got ' .. type(s), 2) end
    return H.psl(what, s)
  end
end
kumo.string = S
