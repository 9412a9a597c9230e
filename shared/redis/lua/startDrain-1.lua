--[[
  Marks a ticket's drain of a source as running, until it ends or its deadline passes (the
  instance died): enqueues send no wake-up ticket meanwhile (wake-2.lua).

  Input:
    KEYS[1] draining sorted set: running drain id → the time its mark expires (ms)

    ARGV[1] the drain's id
    ARGV[2] its deadline, ms
    ARGV[3] how long the set itself may outlive its last mark, ms

  Output:
    the number of drains marked running, this one included
]]
local rcall = redis.call
rcall("ZADD", KEYS[1], ARGV[2], ARGV[1])
rcall("PEXPIRE", KEYS[1], ARGV[3])
return rcall("ZCARD", KEYS[1])
