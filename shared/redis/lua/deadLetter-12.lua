--[[
  Dead-letters keys that can never succeed as they are (an Elasticsearch 4xx other than 429, a
  mapping error), without waiting for the attempt limit.

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
    ARGV[3..] triples: member, reason, error

  Per member held by the token: into the dead letters with this attempt counted, unless it was
  re-enqueued while in flight: then the newer version may be fine, and it starts afresh (attempts
  reset, due now). A member the token does not hold is stale and left alone.

  Output:
    {settled, stale}, or BAD_ARGUMENT
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
if not now or not token then return BAD_ARGUMENT end
if (#ARGV - 2) % 3 ~= 0 then return BAD_ARGUMENT end

local settled, stale = 0, 0
for i = 3, #ARGV, 3 do
  local member, reason, err = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local lane = takeLease(member, token)
  if not lane then
    stale = stale + 1
  else
    settled = settled + 1
    if not requeueIfDirty(member, lane, now) then
      local attempts = (tonumber(rcall("HGET", K.attempts, member)) or 0) + 1
      deadLetter(member, reason, attempts, err, lane, now)
    end
  end
end
return {settled, stale}
