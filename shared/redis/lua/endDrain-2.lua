--[[
  A ticket's drain of a source ended: its mark goes, and the debounce window with it. While other
  drains run, enqueues still send nothing (wake-2.lua); once none does, the next one wakes the
  source at once instead of waiting out a window its ticket already used.

  Input:
    KEYS[1] draining sorted set: running drain id → the time its mark expires (ms)
    KEYS[2] sent     string: set while a wake-up ticket's window lasts

    ARGV[1] the drain's id
    ARGV[2] now, ms

  Output:
    the number of drains still running
]]
local rcall = redis.call
rcall("ZREM", KEYS[1], ARGV[1])
rcall("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[2])
rcall("DEL", KEYS[2])
return rcall("ZCARD", KEYS[1])
