--[[
  Claims due keys: pending -> in flight under a lease.

  Input:
    KEYS[1] live       pending lane (zset member -> due ms)
    KEYS[2] bulk       pending lane (zset member -> due ms)
    KEYS[3] inflight   zset member -> lease deadline
    KEYS[4] lease      hash member -> token
    KEYS[5] lane       hash member -> lane claimed from
    KEYS[6] attempts   hash member -> failed attempts
    KEYS[7] claims     hash token -> JSON list of the members that claim took
    KEYS[8] claimexpiry zset token -> lease deadline of that claim (when to forget it)
    KEYS[9] versions   hash member -> captured version record (recordVersions-1.lua)
    KEYS[10] timeouts  hash member -> bulk timeout record (recordTimeouts-3.lua)

    ARGV[1] now (ms)
    ARGV[2] max keys to claim (>= 1)
    ARGV[3] lease (ms): the lease deadline is now + lease
    ARGV[4] bulk share (0..1): slots kept for bulk when it has due keys, at least one when
            max > 1 and the share is not 0; slots one lane cannot fill go to the other
    ARGV[5] token of this claim

  Only keys whose due time has come (score <= now) are claimed, earliest first, live first.

  A claim is remembered by its token until its lease deadline. The same token again (ioredis
  resends a command whose answer a reconnect lost, and the first run's answer was never read)
  claims nothing more: it answers the members of the first run that the token still holds, with
  their attempts and lane as they are now. Otherwise those keys would sit leased to an answer
  nobody read until the reaper returned them with an attempt counted.

  Each claimed member comes with its version and timeout records (nil when it has none): the sync
  needs both before it reads, and sending the members back in two HMGETs cost the worker more CPU
  than the claim itself.

  Output:
    {member, attempts, lane, version, timeout, member, ...}, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = {
  live = KEYS[1], bulk = KEYS[2], inflight = KEYS[3], lease = KEYS[4], lane = KEYS[5], attempts = KEYS[6],
  claims = KEYS[7], claimexpiry = KEYS[8], versions = KEYS[9], timeouts = KEYS[10],
}
--- @include "codes"

local now, max, leaseMs, share, token = numberArg(1), numberArg(2), numberArg(3), numberArg(4), ARGV[5]
if not now or not max or not leaseMs or not share or not token or token == "" then return BAD_ARGUMENT end
local deadline = now + leaseMs

local remembered = rcall("HGET", K.claims, token)
if remembered then
  local again = {}
  for _, member in ipairs(cjson.decode(remembered)) do
    if rcall("HGET", K.lease, member) == token then
      again[#again + 1] = member
      again[#again + 1] = tonumber(rcall("HGET", K.attempts, member)) or 0
      again[#again + 1] = rcall("HGET", K.lane, member) or "live"
      again[#again + 1] = rcall("HGET", K.versions, member)
      again[#again + 1] = rcall("HGET", K.timeouts, member)
    end
  end
  return again
end

-- Claims whose lease has run out are forgotten, a bounded number per call: a resend comes within
-- a reconnect, and after the deadline the reaper owns the keys anyway.
local FORGET_PER_CALL = 100
for _, old in ipairs(rcall("ZRANGEBYSCORE", K.claimexpiry, "-inf", now, "LIMIT", 0, FORGET_PER_CALL)) do
  rcall("HDEL", K.claims, old)
  rcall("ZREM", K.claimexpiry, old)
end

local reserved = 0
if max > 1 and share > 0 then
  local bulkDue = rcall("ZCOUNT", K.bulk, "-inf", now)
  reserved = math.min(bulkDue, math.max(1, math.floor(max * share)))
end

local claimed = {}
local taken = {}
local function take(lane, n)
  if n <= 0 then return 0 end
  local members = rcall("ZRANGEBYSCORE", K[lane], "-inf", now, "LIMIT", 0, n)
  for _, member in ipairs(members) do
    rcall("ZREM", K[lane], member)
    rcall("ZADD", K.inflight, deadline, member)
    rcall("HSET", K.lease, member, token)
    rcall("HSET", K.lane, member, lane)
    taken[#taken + 1] = member
    claimed[#claimed + 1] = member
    claimed[#claimed + 1] = tonumber(rcall("HGET", K.attempts, member)) or 0
    claimed[#claimed + 1] = lane
    claimed[#claimed + 1] = rcall("HGET", K.versions, member)
    claimed[#claimed + 1] = rcall("HGET", K.timeouts, member)
  end
  return #members
end

local fromLive = take("live", max - reserved)
take("bulk", max - fromLive)
-- An empty claim (an idle poll) leaves nothing to remember: its resend may claim afresh.
if #taken > 0 then
  rcall("HSET", K.claims, token, cjson.encode(taken))
  rcall("ZADD", K.claimexpiry, deadline, token)
end
return claimed
