--[[
  Deletes dead letters for good.

  Input:
    KEYS[1] dead       zset member -> time dead-lettered
    KEYS[2] deadinfo   hash member -> JSON
    KEYS[3] deadseq    zset member -> sequence number of its dead-lettering

    ARGV[1] how many of the earliest dead letters to purge (0: only the listed members)
    ARGV[2..] members to purge; those that are not dead letters are skipped

  Output:
    number purged, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { dead = KEYS[1], deadinfo = KEYS[2], deadseq = KEYS[3] }
--- @include "codes"

local count = numberArg(1)
if not count then return BAD_ARGUMENT end

local members = {}
if count > 0 then
  members = rcall("ZRANGE", K.dead, 0, count - 1)
else
  for i = 2, #ARGV do members[#members + 1] = ARGV[i] end
end

local purged = 0
for _, member in ipairs(members) do
  if rcall("ZREM", K.dead, member) == 1 then
    rcall("ZREM", K.deadseq, member)
    rcall("HDEL", K.deadinfo, member)
    purged = purged + 1
  end
end
return purged
