--[[
  Cancels a job. A queued job that no runner has taken up is cancelled at once; a running one
  (or a queued one a runner holds already) is marked, and its runner stops at the next page and
  cleans up (a rebuild deletes its new index).

  Input:
    KEYS[1] job      hash: the job's fields
    KEYS[2] active   string: id of the active job of this source and kind
    KEYS[3] lease    string: token of the runner working on this source and kind

    ARGV[1] job id
    ARGV[2] now (ms)
    ARGV[3] seconds the cancelled job is kept

  Output:
    "missing"; "now" (cancelled here); "requested" (its runner finishes the cancel); or the
    job's final state when it had ended already
]]
local rcall = redis.call
local state = rcall("HGET", KEYS[1], "state")
if not state then
  return "missing"
end
if state == "succeeded" or state == "failed" or state == "cancelled" then
  return state
end
rcall("HSET", KEYS[1], "cancelRequested", "1", "updatedAt", ARGV[2])
if state == "queued" and rcall("EXISTS", KEYS[3]) == 0 then
  rcall("HSET", KEYS[1], "state", "cancelled", "finishedAt", ARGV[2])
  if rcall("GET", KEYS[2]) == ARGV[1] then
    rcall("DEL", KEYS[2])
  end
  rcall("EXPIRE", KEYS[1], ARGV[3])
  return "now"
end
return "requested"
