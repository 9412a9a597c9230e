--[[
  A page of dead letters, earliest first.

  Input:
    KEYS[1] dead       zset member -> time dead-lettered
    KEYS[2] deadinfo   hash member -> JSON {reason, attempts, lastError, deadLetteredAt, lane}

    ARGV[1] offset
    ARGV[2] limit (>= 1)

  Output:
    {member, info JSON, member, info JSON, ...}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { dead = KEYS[1], deadinfo = KEYS[2] }
--- @include "codes"

local offset, limit = numberArg(1), numberArg(2)
if not offset or not limit or limit < 1 then return BAD_ARGUMENT end

local page = {}
for _, member in ipairs(rcall("ZRANGE", K.dead, offset, offset + limit - 1)) do
  page[#page + 1] = member
  page[#page + 1] = rcall("HGET", K.deadinfo, member)
end
return page
