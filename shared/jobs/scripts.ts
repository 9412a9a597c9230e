/**
 * The jobs' Lua scripts, one entry per script, each with its header (what KEYS and ARGV are,
 * what it returns), registered once per connection with ioredis `defineCommand` (store.ts).
 *
 * Kept in TypeScript rather than in .lua files beside the queue's: they then ship inside dist/
 * with the code that runs them. The Functions package (infra/package.sh) carries only
 * shared/queue/lua/, and every host builds the jobs service at start, so a missing script file
 * would stop every function, not only the jobs.
 */

export const JOB_SCRIPTS = {
  createJob: {
    keys: 3,
    lua: `
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
`,
  },
  commitJob: {
    keys: 2,
    lua: `
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
    1 committed; 0 the caller does not hold the lease; -1 no such job; -2 the job is in another state
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
if rcall("EXISTS", KEYS[2]) == 0 then
  return -1
end
if ARGV[3] ~= "" and rcall("HGET", KEYS[2], "state") ~= ARGV[3] then
  return -2
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
`,
  },
  finishJob: {
    keys: 3,
    lua: `
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
`,
  },
  cancelJob: {
    keys: 3,
    lua: `
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
`,
  },
} as const satisfies Record<string, { keys: number; lua: string }>;

export type JobScriptName = keyof typeof JOB_SCRIPTS;
