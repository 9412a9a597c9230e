--[[
  Records a job's progress (counters, continuation, phase, ...) and renews the runner's lease, in
  one step: the counters and the continuation always move together, so a page that was written
  but not committed is scanned again after a crash without being counted twice. Only the lease
  holder may commit: a runner that lost its lease (paused, partitioned) cannot move the job of
  the runner that took over.

  Input:
    KEYS[1] lease    string: token of the holder
    KEYS[2] job      hash: the job's fields

    ARGV[1] token of the caller
    ARGV[2] lease duration (ms)
    ARGV[3] the state the job must be in, or "" for any
    ARGV[4] n: number of counter increments that follow
    ARGV[5 .. 4+2n] field, increment pairs
    ARGV[5+2n ..] field, value pairs to set

  Output:
    1 committed; 0 the caller does not hold the lease; JOB_MISSING no such job; JOB_WRONG_STATE the
    job is in another state
]]
local rcall = redis.call
--- @include "codes"

if rcall("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
if rcall("EXISTS", KEYS[2]) == 0 then
  return JOB_MISSING
end
if ARGV[3] ~= "" and rcall("HGET", KEYS[2], "state") ~= ARGV[3] then
  return JOB_WRONG_STATE
end
local n = tonumber(ARGV[4])
local i = 5
for _ = 1, n do
  rcall("HINCRBY", KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local fields = {}
for j = i, #ARGV do
  fields[#fields + 1] = ARGV[j]
end
if #fields > 0 then
  rcall("HSET", KEYS[2], unpack(fields))
end
rcall("PEXPIRE", KEYS[1], ARGV[2])
return 1
