--[[
  Records the version of a document that change capture saw, so the sync can tell a stale read
  from a current one (shared/sync/freshness.ts). A key keeps the newest version recorded for it.

  Input:
    KEYS[1] versions   hash member -> "<version>:<deleted 0|1>:<recorded at ms>"

    ARGV[1] now (ms)
    ARGV[2..] triples: member, version (Cosmos _ts or crts, seconds), deleted ("1" or "0")

  A record replaces the stored one when its version is not older: records arrive in change feed
  order, so at an equal second the later change (a delete after its create) wins.

  Output:
    the number of records stored, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { versions = KEYS[1] }
--- @include "codes"

local now = numberArg(1)
if not now or (#ARGV - 1) % 3 ~= 0 then return BAD_ARGUMENT end

local stored = 0
for i = 2, #ARGV, 3 do
  local member, version, deleted = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if not version or (deleted ~= "0" and deleted ~= "1") then return BAD_ARGUMENT end
  local current = rcall("HGET", K.versions, member)
  local currentVersion = current and tonumber(string.match(current, "^([^:]+):"))
  if not currentVersion or version >= currentVersion then
    rcall("HSET", K.versions, member, version .. ":" .. deleted .. ":" .. now)
    stored = stored + 1
  end
end
return stored
