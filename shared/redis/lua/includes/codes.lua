-- Negative return codes, named by ScriptCode in shared/redis/codes.ts: each number means one
-- thing in every script.
local BAD_ARGUMENT = -1
local BAD_LANE = -2
local JOB_MISSING = -3
local JOB_WRONG_STATE = -4

-- ARGV[i] as a number, or nil when it is not one.
local function numberArg(i)
  return tonumber(ARGV[i])
end
