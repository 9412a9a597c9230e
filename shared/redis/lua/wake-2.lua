--[[
  Decides whether an enqueue wakes its source: not while a ticket's drain of it runs, and at most
  once per debounce window. One call, so two instances enqueueing at once cannot both send, and
  an enqueue costs one round trip more, not two. Both keys share the source's hash tag.

  Input:
    KEYS[1] sent     string: set while a wake-up ticket's window lasts
    KEYS[2] draining string: set while a ticket's drain of the source runs

    ARGV[1] the debounce window, ms

  Output:
    1 when the caller is to send the ticket (the window is now taken), 0 otherwise
]]
local rcall = redis.call
if rcall("EXISTS", KEYS[2]) == 1 then
  return 0
end
if rcall("SET", KEYS[1], "1", "PX", ARGV[1], "NX") then
  return 1
end
return 0
