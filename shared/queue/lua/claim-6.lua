--[[
  Claims due keys: pending -> in flight under a lease.

  Input:
    KEYS[1] live       pending lane (zset member -> due ms)
    KEYS[2] bulk       pending lane (zset member -> due ms)
    KEYS[3] inflight   zset member -> lease deadline
    KEYS[4] lease      hash member -> token
    KEYS[5] lane       hash member -> lane claimed from
    KEYS[6] attempts   hash member -> failed attempts

    ARGV[1] now (ms)
    ARGV[2] max keys to claim (>= 1)
    ARGV[3] lease (ms): the lease deadline is now + lease
    ARGV[4] bulk share (0..1): slots kept for bulk when it has due keys, at least one when
            max > 1 and the share is not 0; slots one lane cannot fill go to the other
    ARGV[5] token of this claim

  Only keys whose due time has come (score <= now) are claimed, earliest first, live first.

  Output:
    {member, attempts, lane, member, attempts, lane, ...}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = {
  live = KEYS[1], bulk = KEYS[2], inflight = KEYS[3], lease = KEYS[4], lane = KEYS[5], attempts = KEYS[6],
}
--- @include "codes"

local now, max, leaseMs, share, token = numberArg(1), numberArg(2), numberArg(3), numberArg(4), ARGV[5]
if not now or not max or not leaseMs or not share or not token or token == "" then return BAD_ARGUMENT end
local deadline = now + leaseMs

local reserved = 0
if max > 1 and share > 0 then
  local bulkDue = rcall("ZCOUNT", K.bulk, "-inf", now)
  reserved = math.min(bulkDue, math.max(1, math.floor(max * share)))
end

local claimed = {}
local function take(lane, n)
  if n <= 0 then return 0 end
  local members = rcall("ZRANGEBYSCORE", K[lane], "-inf", now, "LIMIT", 0, n)
  for _, member in ipairs(members) do
    rcall("ZREM", K[lane], member)
    rcall("ZADD", K.inflight, deadline, member)
    rcall("HSET", K.lease, member, token)
    rcall("HSET", K.lane, member, lane)
    claimed[#claimed + 1] = member
    claimed[#claimed + 1] = tonumber(rcall("HGET", K.attempts, member)) or 0
    claimed[#claimed + 1] = lane
  end
  return #members
end

local fromLive = take("live", max - reserved)
take("bulk", max - fromLive)
return claimed
