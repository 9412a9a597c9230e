--[[
  Decides whether an enqueue wakes its source: not while any ticket's drain of it runs, and at
  most once per debounce window. One call, so two instances enqueueing at once cannot both send,
  and an enqueue costs one round trip more, not two. Both keys share the source's hash tag.

  Input:
    KEYS[1] sent     string: set while a wake-up ticket's window lasts
    KEYS[2] draining sorted set: running drain id → the time its mark expires (ms)

    ARGV[1] the debounce window, ms
    ARGV[2] now, ms

  Output:
    1 when the caller is to send the ticket (the window is now taken), 0 otherwise
]]
local rcall = redis.call
-- A drain whose instance died never ends its mark; its deadline does.
rcall("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[2])
if rcall("ZCARD", KEYS[2]) > 0 then
  return 0
end
if rcall("SET", KEYS[1], "1", "PX", ARGV[1], "NX") then
  return 1
end
return 0
