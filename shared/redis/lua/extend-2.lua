--[[
  Renews the leases a claim holds, for work that runs longer than expected.

  Input:
    KEYS[1] inflight   zset member -> lease deadline
    KEYS[2] lease      hash member -> token

    ARGV[1] now (ms)
    ARGV[2] lease (ms): the new deadline is now + lease
    ARGV[3] token of the claim
    ARGV[4..] members

  A lease that has expired but was not reaped yet is still held, so it is renewed too.
  A member the token does not hold is stale and left alone.

  Output:
    {settled, stale}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { inflight = KEYS[1], lease = KEYS[2] }
--- @include "codes"

local now, leaseMs, token = numberArg(1), numberArg(2), ARGV[3]
if not now or not leaseMs or not token then return BAD_ARGUMENT end

local settled, stale = 0, 0
for i = 4, #ARGV do
  local member = ARGV[i]
  if rcall("HGET", K.lease, member) == token then
    rcall("ZADD", K.inflight, "XX", now + leaseMs, member)
    settled = settled + 1
  else
    stale = stale + 1
  end
end
return {settled, stale}
