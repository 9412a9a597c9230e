--[[
  Records a failed attempt per key: pending again after an exponential backoff, or dead-lettered
  once the attempt limit is reached.

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

    ARGV[1] now (ms)
    ARGV[2] token of the claim
    ARGV[3] max attempts
    ARGV[4] backoff base (ms): the delay after the first failure, doubling with each attempt
    ARGV[5] backoff max (ms)
    ARGV[6..] triples: member, error, jitter (0..1: the share of the delay taken off, drawn
              by the caller so that this script stays deterministic)

  Per member held by the token, attempts + 1 and the error kept, then:
    dirty (changed again while failing) -> starts afresh: attempts reset, due now
    attempts >= max attempts            -> dead letter, reason "max attempts"
    otherwise                           -> pending in its lane at
                                           now + min(base * 2^(attempts-1), max) * (1 - jitter)
  A member the token does not hold is stale and left alone.

  Output:
    {settled, stale, deadLettered} (settled includes the dead-lettered), or BAD_ARGUMENT
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

local now, token = numberArg(1), ARGV[2]
local maxAttempts, baseMs, maxMs = numberArg(3), numberArg(4), numberArg(5)
if not now or not token or not maxAttempts or not baseMs or not maxMs then return BAD_ARGUMENT end
if (#ARGV - 5) % 3 ~= 0 then return BAD_ARGUMENT end

local settled, stale, deadLettered = 0, 0, 0
for i = 6, #ARGV, 3 do
  local member, err, jitter = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]) or 0
  local lane = takeLease(member, token)
  if not lane then
    stale = stale + 1
  else
    settled = settled + 1
    if not requeueIfDirty(member, lane, now) then
      local attempts = rcall("HINCRBY", K.attempts, member, 1)
      if attempts >= maxAttempts then
        deadLetter(member, "max attempts", attempts, err, lane, now)
        deadLettered = deadLettered + 1
      else
        rcall("HSET", K.errors, member, err)
        local delay = math.min(baseMs * 2 ^ (attempts - 1), maxMs)
        rcall("ZADD", K[lane], now + math.floor(delay * (1 - jitter)), member)
      end
    end
  end
end
return {settled, stale, deadLettered}
