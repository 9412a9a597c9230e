-- Expects K.dead, K.deadinfo, K.attempts, K.errors, K.deadseq, K.meta.

-- `member` (already out of flight) into the dead letters; its attempts and error move with it.
-- Each dead-lettering gets the next number of a counter kept in Redis: the dead-letter mirror
-- (shared/deadletters/mirror.ts) sends letters in that order from a saved number. `now` comes
-- from the caller's clock, and two workers' clocks can give equal or earlier times; a cursor on
-- them would skip letters.
local function deadLetter(member, reason, attempts, lastError, lane, now)
  local sequence = rcall("HINCRBY", K.meta, "deadLetterSequence", 1)
  rcall("ZADD", K.dead, now, member)
  rcall("ZADD", K.deadseq, sequence, member)
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
