--[[
  Deletes a string key only while it still holds the given value: a holder gives its lease up, or
  a stale pointer is cleared, without touching what someone else put there since.

  Input:
    KEYS[1] key      string: the lease or pointer

    ARGV[1] the value it must hold

  Output:
    1 when deleted, 0 otherwise
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) == ARGV[1] then
  rcall("DEL", KEYS[1])
  return 1
end
return 0
