--[[
  Saves the change feed continuation of a source (one composite token for every feed range of
  its container), but only for the lease holder: a reader that lost its lease (paused,
  partitioned) must not move the checkpoint of the reader that took over. The per-range
  checkpoints of earlier versions, merged into this one when it was first read, go with it.

  Input:
    KEYS[1] lease          string: token of the holder
    KEYS[2] continuation   string
    KEYS[3] checkpoints    hash: feed range -> continuation (per-range checkpoints of earlier versions)

    ARGV[1] token of the caller
    ARGV[2] continuation

  Output:
    1 when saved, 0 when the caller no longer holds the lease
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
rcall("SET", KEYS[2], ARGV[2])
rcall("DEL", KEYS[3])
return 1
