--[[
  Makes document keys pending, deduplicating against every state a key can be in.

  Input:
    KEYS[1] live       pending lane (zset member -> due ms)
    KEYS[2] bulk       pending lane (zset member -> due ms)
    KEYS[3] inflight   zset member -> lease deadline
    KEYS[4] dirty      hash member -> lane
    KEYS[5] attempts   hash member -> failed attempts
    KEYS[6] errors     hash member -> last error
    KEYS[7] dead       zset member -> time dead-lettered
    KEYS[8] deadinfo   hash member -> JSON
    KEYS[9] deadseq    zset member -> sequence number of its dead-lettering

    ARGV[1] now (ms)
    ARGV[2] delay (ms): the key is due at now + delay
    ARGV[3] lane: "live" or "bulk"
    ARGV[4..] members (encoded keys)

  Per member:
    in flight            -> marked dirty in this lane (live wins): processed again after it is
                            settled, never concurrently. Counted enqueued, or duplicate when it
                            was dirty already.
    dead-lettered        -> revived: pending in this lane, attempts reset (the newer version may
                            be fine). Counted enqueued.
    pending              -> duplicate. Keeps the earlier due time; a live enqueue moves a bulk
                            key to live (a bulk enqueue never demotes a live one). A key waiting
                            out a retry backoff changed again, so it starts afresh: attempts reset,
                            due at now + delay instead of the end of its backoff.
    otherwise            -> pending at now + delay. Counted enqueued.

  Output:
    {enqueued, duplicates, outcomes}, or BAD_ARGUMENT / BAD_LANE. outcomes has one character
    per member, in order: "1" where it was counted a duplicate, "0" where it was enqueued (so a
    caller that merged several requests into this call can answer each with its own counts).
]]
local rcall = redis.call
local K = {
  live = KEYS[1], bulk = KEYS[2], inflight = KEYS[3], dirty = KEYS[4],
  attempts = KEYS[5], errors = KEYS[6], dead = KEYS[7], deadinfo = KEYS[8],
  deadseq = KEYS[9],
}
--- @include "codes"

local now, delay, lane = numberArg(1), numberArg(2), ARGV[3]
if not now or not delay then return BAD_ARGUMENT end
if lane ~= "live" and lane ~= "bulk" then return BAD_LANE end
local due = now + delay

local enqueued, duplicates = 0, 0
local outcomes = {}
for i = 4, #ARGV do
  local member = ARGV[i]
  if rcall("ZSCORE", K.inflight, member) then
    local dirtyLane = rcall("HGET", K.dirty, member)
    if not dirtyLane then
      rcall("HSET", K.dirty, member, lane)
      enqueued = enqueued + 1
      outcomes[i - 3] = "0"
    else
      if lane == "live" and dirtyLane ~= "live" then
        rcall("HSET", K.dirty, member, "live")
      end
      duplicates = duplicates + 1
      outcomes[i - 3] = "1"
    end
  elseif rcall("ZSCORE", K.dead, member) then
    rcall("ZREM", K.dead, member)
    rcall("ZREM", K.deadseq, member)
    rcall("HDEL", K.deadinfo, member)
    rcall("HDEL", K.attempts, member)
    rcall("HDEL", K.errors, member)
    rcall("ZADD", K[lane], due, member)
    enqueued = enqueued + 1
    outcomes[i - 3] = "0"
  else
    local current, currentLane = rcall("ZSCORE", K.live, member), "live"
    if not current then
      current, currentLane = rcall("ZSCORE", K.bulk, member), "bulk"
    end
    if current then
      local newDue = math.min(tonumber(current), due)
      -- A pending key with attempts is waiting out a backoff: reset, and min() makes it due.
      if rcall("HDEL", K.attempts, member) == 1 then
        rcall("HDEL", K.errors, member)
      end
      local target = currentLane
      if lane == "live" then target = "live" end
      if target ~= currentLane then
        rcall("ZREM", K[currentLane], member)
      end
      rcall("ZADD", K[target], newDue, member)
      duplicates = duplicates + 1
      outcomes[i - 3] = "1"
    else
      rcall("ZADD", K[lane], due, member)
      enqueued = enqueued + 1
      outcomes[i - 3] = "0"
    end
  end
end
return {enqueued, duplicates, table.concat(outcomes)}
