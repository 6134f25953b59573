-- kumo.spawn_task: an event run in the background, in a Lua context of its own that the pool
-- loads for it; its error is logged (the task stops), nothing waits for it.
local H, kumo = ...

function kumo.spawn_task(params) H.spawn_task(params):await() end
