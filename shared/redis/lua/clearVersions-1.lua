--[[
  Forgets the recorded versions that a settled read has caught up with.

  Input:
    KEYS[1] versions   hash member -> "<version>:<deleted 0|1>:<recorded at ms>:<etag>"

    ARGV[1], ARGV[2], … pairs: member, the record as the sync read it before its Cosmos read

  A record that changed since (capture saw a newer change meanwhile) is kept: that change is
  still owed, and its key is pending again.

  Output:
    the number of records removed, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { versions = KEYS[1] }
--- @include "codes"

if #ARGV % 2 ~= 0 then return BAD_ARGUMENT end

local removed = 0
for i = 1, #ARGV, 2 do
  if rcall("HGET", K.versions, ARGV[i]) == ARGV[i + 1] then
    rcall("HDEL", K.versions, ARGV[i])
    removed = removed + 1
  end
end
return removed
