--[[
  Acknowledges processed keys: they leave the queue, unless re-enqueued while in flight.

  Input:
    KEYS[1] inflight   zset member -> lease deadline
    KEYS[2] lease      hash member -> token
    KEYS[3] lane       hash member -> lane claimed from
    KEYS[4] attempts   hash member -> failed attempts
    KEYS[5] errors     hash member -> last error
    KEYS[6] dirty      hash member -> lane
    KEYS[7] live       pending lane
    KEYS[8] bulk       pending lane

    ARGV[1] now (ms)
    ARGV[2] token of the claim
    ARGV[3..] members

  Per member held by the token: out of flight, attempts and error cleared; a dirty key is pending
  again, due now, in its dirty lane. A member the token does not hold is stale and left alone.

  Output:
    {settled, stale}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = {
  inflight = KEYS[1], lease = KEYS[2], lane = KEYS[3], attempts = KEYS[4],
  errors = KEYS[5], dirty = KEYS[6], live = KEYS[7], bulk = KEYS[8],
}
--- @include "codes"
--- @include "lease"
--- @include "dirty"

local now, token = numberArg(1), ARGV[2]
if not now or not token then return BAD_ARGUMENT end

local settled, stale = 0, 0
for i = 3, #ARGV do
  local member = ARGV[i]
  if takeLease(member, token) then
    rcall("HDEL", K.attempts, member)
    rcall("HDEL", K.errors, member)
    requeueIfDirty(member, nil, now)
    settled = settled + 1
  else
    stale = stale + 1
  end
end
return {settled, stale}
