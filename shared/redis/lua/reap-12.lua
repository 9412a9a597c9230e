--[[
  Moves keys whose lease expired (their holder died or hung) back to pending. Each counts as a
  failed attempt, so a key that kills its worker cannot loop forever.

  Input:
    KEYS[1]  inflight   zset member -> lease deadline
    KEYS[2]  lease      hash member -> token
    KEYS[3]  lane       hash member -> lane claimed from
    KEYS[4]  attempts   hash member -> failed attempts
    KEYS[5]  errors     hash member -> last error
    KEYS[6]  dirty      hash member -> lane
    KEYS[7]  live       pending lane
    KEYS[8]  bulk       pending lane
    KEYS[9]  dead       zset member -> time dead-lettered
    KEYS[10] deadinfo   hash member -> JSON
    KEYS[11] deadseq    zset member -> sequence number of its dead-lettering
    KEYS[12] meta       hash: deadLetterSequence (the last number given)

    ARGV[1] now (ms): leases with a deadline <= now have expired
    ARGV[2] max keys to reap in this call
    ARGV[3] max attempts

  Per expired key, earliest deadline first: attempts + 1, then
    dirty                        -> starts afresh: attempts reset, due now
    attempts >= max attempts     -> dead letter, reason "lease expired"
    otherwise                    -> pending in its lane, due now
  The lease is gone, so the old holder's settling calls count as stale.

  Output:
    {requeued, deadLettered}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = {
  inflight = KEYS[1], lease = KEYS[2], lane = KEYS[3], attempts = KEYS[4], errors = KEYS[5],
  dirty = KEYS[6], live = KEYS[7], bulk = KEYS[8], dead = KEYS[9], deadinfo = KEYS[10],
  deadseq = KEYS[11], meta = KEYS[12],
}
--- @include "codes"
--- @include "lease"
--- @include "dirty"
--- @include "deadletter"

local now, max, maxAttempts = numberArg(1), numberArg(2), numberArg(3)
if not now or not max or not maxAttempts then return BAD_ARGUMENT end

local LEASE_EXPIRED = "lease expired"
local requeued, deadLettered = 0, 0
local expired = rcall("ZRANGEBYSCORE", K.inflight, "-inf", now, "LIMIT", 0, max)
for _, member in ipairs(expired) do
  local lane = dropInflight(member)
  if requeueIfDirty(member, lane, now) then
    requeued = requeued + 1
  else
    local attempts = rcall("HINCRBY", K.attempts, member, 1)
    if attempts >= maxAttempts then
      deadLetter(member, LEASE_EXPIRED, attempts, LEASE_EXPIRED, lane, now)
      deadLettered = deadLettered + 1
    else
      rcall("HSET", K.errors, member, LEASE_EXPIRED)
      rcall("ZADD", K[lane], now, member)
      requeued = requeued + 1
    end
  end
end
return {requeued, deadLettered}
