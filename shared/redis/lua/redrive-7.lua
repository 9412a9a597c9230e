--[[
  Dead letters back to pending, due now, attempts reset, each in the lane it was dead-lettered
  from.

  Input:
    KEYS[1] dead       zset member -> time dead-lettered
    KEYS[2] deadinfo   hash member -> JSON {..., lane}
    KEYS[3] live       pending lane
    KEYS[4] bulk       pending lane
    KEYS[5] attempts   hash member -> failed attempts
    KEYS[6] errors     hash member -> last error
    KEYS[7] deadseq    zset member -> sequence number of its dead-lettering

    ARGV[1] now (ms)
    ARGV[2] how many of the earliest dead letters to redrive (0: only the listed members)
    ARGV[3..] members to redrive; those that are not dead letters are skipped

  Output:
    number redriven, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { dead = KEYS[1], deadinfo = KEYS[2], live = KEYS[3], bulk = KEYS[4], attempts = KEYS[5], errors = KEYS[6], deadseq = KEYS[7] }
--- @include "codes"

local now, count = numberArg(1), numberArg(2)
if not now or not count then return BAD_ARGUMENT end

local members = {}
if count > 0 then
  members = rcall("ZRANGE", K.dead, 0, count - 1)
else
  for i = 3, #ARGV do members[#members + 1] = ARGV[i] end
end

local redriven = 0
for _, member in ipairs(members) do
  if rcall("ZREM", K.dead, member) == 1 then
    rcall("ZREM", K.deadseq, member)
    local info = rcall("HGET", K.deadinfo, member)
    local lane = info and cjson.decode(info).lane
    if lane ~= "bulk" then lane = "live" end
    rcall("HDEL", K.deadinfo, member)
    rcall("HDEL", K.attempts, member)
    rcall("HDEL", K.errors, member)
    rcall("ZADD", K[lane], now, member)
    redriven = redriven + 1
  end
end
return redriven
