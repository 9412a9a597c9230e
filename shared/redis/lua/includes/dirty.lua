-- Keys re-enqueued while in flight. Expects K.dirty, K.attempts, K.errors, K.live, K.bulk.

-- When `member` was re-enqueued while in flight, it changed again: whatever became of this
-- attempt, it is pending afresh (no attempts, due now) and true is returned. `claimedLane` is
-- the lane of the attempt that did not complete (live wins over the dirty lane), or nil after a
-- successful ack, when only the new change is owed.
local function requeueIfDirty(member, claimedLane, now)
  local lane = rcall("HGET", K.dirty, member)
  if not lane then
    return false
  end
  if claimedLane == "live" then
    lane = "live"
  end
  rcall("HDEL", K.dirty, member)
  rcall("HDEL", K.attempts, member)
  rcall("HDEL", K.errors, member)
  rcall("ZADD", K[lane], now, member)
  return true
end
