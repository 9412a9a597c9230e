--[[
  Records that a bulk request timed out with these keys in it, for the sync to split the next
  requests that carry them (shared/sync/bisect.ts). A record is "<cap>:<solo>:<at>": the most keys
  to send with this one next time, how many times it timed out alone, and when it last timed out.

  Input:
    KEYS[1] lease      hash member -> token
    KEYS[2] timeouts   hash member -> "<cap>:<solo>:<at>"
    KEYS[3] meta       hash: lastSyncAt

    ARGV[1] now (ms)
    ARGV[2] token of the claim
    ARGV[3] keys in the request that timed out (>= 1)
    ARGV[4..] members

  Per member the token holds:
    alone in the request     -> solo + 1: the first time, and then only when the source synced
                                something since its last solo timeout (Elasticsearch was writing
                                other documents, so it is this one that does not go through);
                                otherwise solo and its time are kept
    no record yet            -> cap = the request's size: sent again as it was, apart from keys
                                that never timed out (one timeout may be a blip)
    timed out before         -> cap = half the request's size
  A member the token does not hold is left alone.

  Output:
    {solo, solo, ...} per member in order, -1 where the token does not hold it; or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { lease = KEYS[1], timeouts = KEYS[2], meta = KEYS[3] }
--- @include "codes"

local now, token, size = numberArg(1), ARGV[2], numberArg(3)
if not now or not token or token == "" or not size or size < 1 then return BAD_ARGUMENT end

local lastSync = tonumber(rcall("HGET", K.meta, "lastSyncAt")) or 0
local solos = {}
for i = 4, #ARGV do
  local member = ARGV[i]
  if rcall("HGET", K.lease, member) ~= token then
    solos[#solos + 1] = -1
  else
    local record = rcall("HGET", K.timeouts, member)
    local solo, at = 0, 0
    if record then
      local _, s, a = string.match(record, "^(%d+):(%d+):(%d+)$")
      solo, at = tonumber(s) or 0, tonumber(a) or 0
    end
    local cap = size
    if size == 1 then
      if solo == 0 or lastSync > at then
        solo = solo + 1
        at = now
      end
    else
      solo, at = 0, now
      if record then cap = math.max(1, math.floor(size / 2)) end
    end
    rcall("HSET", K.timeouts, member, string.format("%d:%d:%.0f", cap, solo, at))
    solos[#solos + 1] = solo
  end
end
return solos
