--[[
  Saves a feed range's continuation, but only for the lease holder: a reader that lost its
  lease (paused, partitioned) must not move the checkpoint of the reader that took over.

  KEYS[1] lease key (string: holder token)
  KEYS[2] checkpoints (hash: feed range id -> continuation)
  ARGV[1] token of the caller
  ARGV[2] feed range id
  ARGV[3] continuation

  Returns 1 when saved, 0 when the caller no longer holds the lease.
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
rcall("HSET", KEYS[2], ARGV[2], ARGV[3])
return 1
