--[[
  Dead-letters keys that cannot enter the queue at all: capture found the document's key
  unusable (its partition key path holds an object or an array), so no read could ever find it.
  The feed goes on past it instead of retrying its page forever.

  Input:
    KEYS[1] live       pending lane
    KEYS[2] bulk       pending lane
    KEYS[3] inflight   zset member -> lease deadline
    KEYS[4] dead       zset member -> time dead-lettered
    KEYS[5] deadinfo   hash member -> JSON
    KEYS[6] deadseq    zset member -> sequence number of its dead-lettering
    KEYS[7] meta       hash: deadLetterSequence (the last number given)
    KEYS[8] attempts   hash member -> failed attempts
    KEYS[9] errors     hash member -> last error

    ARGV[1] now (ms)
    ARGV[2] lane the key came for
    ARGV[3..] triples: member, reason, error

  A member already dead-lettered keeps its letter (capture reads a page again after a crash),
  and one pending or in flight (a letter redriven by hand) is left to the sync, which
  dead-letters it again without reading it.

  Output:
    number of keys dead-lettered now, or BAD_ARGUMENT, BAD_LANE
]]
local rcall = redis.call
local K = {
  live = KEYS[1], bulk = KEYS[2], inflight = KEYS[3], dead = KEYS[4], deadinfo = KEYS[5],
  deadseq = KEYS[6], meta = KEYS[7], attempts = KEYS[8], errors = KEYS[9],
}
--- @include "codes"
--- @include "deadletter"

local now, lane = numberArg(1), ARGV[2]
if not now then return BAD_ARGUMENT end
if lane ~= "live" and lane ~= "bulk" then return BAD_LANE end
if (#ARGV - 2) % 3 ~= 0 then return BAD_ARGUMENT end

local rejected = 0
for i = 3, #ARGV, 3 do
  local member, reason, err = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local known = rcall("ZSCORE", K.dead, member) or rcall("ZSCORE", K.live, member)
    or rcall("ZSCORE", K.bulk, member) or rcall("ZSCORE", K.inflight, member)
  if not known then
    deadLetter(member, reason, 0, err, lane, now)
    rejected = rejected + 1
  end
end
return rejected
