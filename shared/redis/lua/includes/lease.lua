-- In-flight bookkeeping shared by the settling scripts and reap.
-- Expects K.inflight, K.lease, K.lane.

-- Takes `member` out of flight; returns the lane it was claimed from.
local function dropInflight(member)
  local lane = rcall("HGET", K.lane, member) or "live"
  rcall("ZREM", K.inflight, member)
  rcall("HDEL", K.lease, member)
  rcall("HDEL", K.lane, member)
  return lane
end

-- Ends `token`'s lease on `member` and returns its lane, or false when `token` does not hold it
-- (the lease expired and was reaped, or the key was settled already).
local function takeLease(member, token)
  if rcall("HGET", K.lease, member) ~= token then
    return false
  end
  return dropInflight(member)
end
