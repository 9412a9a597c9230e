--[[
  Ends a job (succeeded, failed or cancelled) for the lease holder: sets its final state, frees
  the source's active slot for this kind, gives the lease up, and lets the job expire later.

  Input:
    KEYS[1] lease    string: token of the holder
    KEYS[2] job      hash: the job's fields
    KEYS[3] active   string: id of the active job of this source and kind

    ARGV[1] token of the caller
    ARGV[2] job id
    ARGV[3] final state
    ARGV[4] now (ms)
    ARGV[5] seconds the finished job is kept
    ARGV[6] last error, or "" to leave it as it is

  Output:
    1 finished; 0 the caller does not hold the lease
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
rcall("HSET", KEYS[2], "state", ARGV[3], "finishedAt", ARGV[4], "updatedAt", ARGV[4])
if ARGV[6] ~= "" then
  rcall("HSET", KEYS[2], "lastError", ARGV[6])
end
if rcall("GET", KEYS[3]) == ARGV[2] then
  rcall("DEL", KEYS[3])
end
rcall("DEL", KEYS[1])
rcall("EXPIRE", KEYS[2], ARGV[5])
return 1
