--[[
  Deletes a string key only while it still holds the given value: a holder gives its lease up, or
  a stale pointer is cleared, without touching what someone else put there since.

  KEYS[1] the key
  ARGV[1] the value it must hold

  Returns 1 when deleted, 0 otherwise.
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) == ARGV[1] then
  rcall("DEL", KEYS[1])
  return 1
end
return 0
