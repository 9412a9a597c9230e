-- Expects K.dead, K.deadinfo, K.attempts, K.errors.

-- `member` (already out of flight) into the dead letters; its attempts and error move with it.
local function deadLetter(member, reason, attempts, lastError, lane, now)
  rcall("ZADD", K.dead, now, member)
  rcall("HSET", K.deadinfo, member, cjson.encode({
    reason = reason,
    attempts = attempts,
    lastError = lastError,
    deadLetteredAt = now,
    lane = lane,
  }))
  rcall("HDEL", K.attempts, member)
  rcall("HDEL", K.errors, member)
end
