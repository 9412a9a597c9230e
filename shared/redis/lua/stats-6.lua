--[[
  One consistent snapshot of a source's queue.

  Input:
    KEYS[1] live       pending lane (zset member -> due ms)
    KEYS[2] bulk       pending lane (zset member -> due ms)
    KEYS[3] inflight   zset member -> lease deadline
    KEYS[4] dirty      hash member -> lane
    KEYS[5] dead       zset member -> time dead-lettered
    KEYS[6] meta       hash: lastSyncAt

    ARGV[1] now (ms)

  Output:
    {pendingLive, pendingBulk, due, inflight, dirty, deadLettered, oldestPendingAgeMs, lastSyncAt}
    where oldestPendingAgeMs is how long the earliest due key has been due (0 when none is) and
    lastSyncAt is nil when the source never synced; or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { live = KEYS[1], bulk = KEYS[2], inflight = KEYS[3], dirty = KEYS[4], dead = KEYS[5], meta = KEYS[6] }
--- @include "codes"

local now = numberArg(1)
if not now then return BAD_ARGUMENT end

local oldestAge = 0
for _, lane in ipairs({ "live", "bulk" }) do
  local first = rcall("ZRANGE", K[lane], 0, 0, "WITHSCORES")
  local due = tonumber(first[2])
  if due and due <= now then
    oldestAge = math.max(oldestAge, now - due)
  end
end

return {
  rcall("ZCARD", K.live),
  rcall("ZCARD", K.bulk),
  rcall("ZCOUNT", K.live, "-inf", now) + rcall("ZCOUNT", K.bulk, "-inf", now),
  rcall("ZCARD", K.inflight),
  rcall("HLEN", K.dirty),
  rcall("ZCARD", K.dead),
  oldestAge,
  rcall("HGET", K.meta, "lastSyncAt"),
}
