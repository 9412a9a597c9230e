--[[
  Records that a sync run of this source completed. The time only moves forward, so a late report
  from a slow instance cannot make the source look staler than it is.

  Input:
    KEYS[1] meta       hash: lastSyncAt

    ARGV[1] now (ms)

  Output:
    the recorded lastSyncAt, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { meta = KEYS[1] }
--- @include "codes"

local now = numberArg(1)
if not now then return BAD_ARGUMENT end

local last = tonumber(rcall("HGET", K.meta, "lastSyncAt"))
if not last or now > last then
  rcall("HSET", K.meta, "lastSyncAt", now)
  return now
end
return last
