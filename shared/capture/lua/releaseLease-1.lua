--[[
  Gives the reader lease up, if the caller still holds it, so another worker takes over at once.

  KEYS[1] lease key (string: holder token)
  ARGV[1] token of the caller

  Returns 1 when released, 0 when the caller did not hold it.
]]
local rcall = redis.call
if rcall("GET", KEYS[1]) == ARGV[1] then
  rcall("DEL", KEYS[1])
  return 1
end
return 0
