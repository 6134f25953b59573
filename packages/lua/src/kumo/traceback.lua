-- kumo.traceback([level]): the call stack as an array of frame tables, from `level` up (1, the
-- default, is the function that called kumo.traceback).
local _, kumo = ...
local getinfo, type, error = debug.getinfo, type, error

function kumo.traceback(level)
  level = level or 1
  if math.type(level) ~= 'integer' or level < 0 then
    error('kumo.traceback: level: expected a whole number of at least 0, got ' .. tostring(level), 2)
  end
  local frames = {}
  -- getinfo's level 1 is this function; the caller's level 1 is our level 2.
  local at = level + 1
  while true do
    local info = getinfo(at, 'nSlt')
    if info == nil then break end
    frames[#frames + 1] = {
      name = info.name,
      name_what = info.namewhat,
      source = info.source,
      short_src = info.short_src,
      line_defined = info.linedefined,
      last_line_defined = info.lastlinedefined,
      what = info.what,
      curr_line = info.currentline,
      is_tail_call = info.istailcall,
    }
    at = at + 1
  end
  return frames
end
