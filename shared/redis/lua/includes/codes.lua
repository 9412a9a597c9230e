-- Negative return codes, named by ScriptCode in shared/queue/errors.ts.
local BAD_ARGUMENT = -1
local BAD_LANE = -2

-- ARGV[i] as a number, or nil when it is not one.
local function numberArg(i)
  return tonumber(ARGV[i])
end
