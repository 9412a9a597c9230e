--[[
  Creates a queued job, unless the source already has an active job of the same kind.

  Input:
    KEYS[1] active   string: id of the active job of this source and kind
    KEYS[2] job      hash: the new job's fields
    KEYS[3] list     sorted set: job id -> creation time

    ARGV[1] job id
    ARGV[2] now (ms)
    ARGV[3] how many jobs the list keeps (older entries are dropped; their hashes expire)
    ARGV[4..] field, value pairs of the new job

  Output:
    {1, job id} when created, {0, id of the active job} when one is active already
]]
local rcall = redis.call
local active = rcall("GET", KEYS[1])
if active then
  return {0, active}
end
rcall("SET", KEYS[1], ARGV[1])
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
rcall("HSET", KEYS[2], unpack(fields))
rcall("ZADD", KEYS[3], ARGV[2], ARGV[1])
local keep = tonumber(ARGV[3])
rcall("ZREMRANGEBYRANK", KEYS[3], 0, -keep - 1)
return {1, ARGV[1]}
