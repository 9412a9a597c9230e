--[[
  The dead letters made after a sequence number, in the order they were made: what the
  dead-letter mirror has not sent yet.

  Input:
    KEYS[1] deadseq    zset member -> sequence number of its dead-lettering
    KEYS[2] deadinfo   hash member -> JSON {reason, attempts, lastError, deadLetteredAt, lane}

    ARGV[1] sequence number (>= 0): letters numbered above it
    ARGV[2] limit (>= 1)

  A letter redriven, revived or purged since is no longer a dead letter and is not listed; one
  dead-lettered again has a new number.

  Output:
    {member, info JSON, sequence, member, info JSON, sequence, ...}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { deadseq = KEYS[1], deadinfo = KEYS[2] }
--- @include "codes"

local after, limit = numberArg(1), numberArg(2)
if not after or not limit or after < 0 or limit < 1 then return BAD_ARGUMENT end

local page = {}
-- ARGV[1] as given: a Lua number would be printed with 14 digits at most.
local found = rcall("ZRANGEBYSCORE", K.deadseq, "(" .. ARGV[1], "+inf", "WITHSCORES", "LIMIT", 0, limit)
for i = 1, #found, 2 do
  page[#page + 1] = found[i]
  page[#page + 1] = rcall("HGET", K.deadinfo, found[i])
  page[#page + 1] = found[i + 1]
end
return page
