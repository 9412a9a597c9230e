--[[
  Records the version of a document that change capture saw, so the sync can tell a stale read
  from a current one (shared/sync/freshness.ts). A key keeps the newest version recorded for it.

  Input:
    KEYS[1] versions   hash member -> "<version>:<deleted 0|1>:<recorded at ms>:<etag>"

    ARGV[1] now (ms)
    ARGV[2..] quadruples: member, version (Cosmos _ts or crts, seconds), deleted ("1" or "0"),
              the version's _etag ("" for a delete)

  A record replaces the stored one when its version is not older: records arrive in change feed
  order, so at an equal second the later change (a delete after its create) wins.

  Output:
    the number of records stored, or BAD_ARGUMENT
]]
local rcall = redis.call
local K = { versions = KEYS[1] }
--- @include "codes"

local now = numberArg(1)
if not now or (#ARGV - 1) % 4 ~= 0 then return BAD_ARGUMENT end

local stored = 0
for i = 2, #ARGV, 4 do
  local member, version, deleted, etag = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  if not version or (deleted ~= "0" and deleted ~= "1") then return BAD_ARGUMENT end
  local current = rcall("HGET", K.versions, member)
  local currentVersion = current and tonumber(string.match(current, "^([^:]+):"))
  if not currentVersion or version >= currentVersion then
    rcall("HSET", K.versions, member, version .. ":" .. deleted .. ":" .. now .. ":" .. etag)
    stored = stored + 1
  end
end
return stored
