--[[
  Takes or renews a lease.

  Input:
    KEYS[1] lease    string: token of the holder, with a TTL

    ARGV[1] token of the caller
    ARGV[2] lease duration (ms)

  Output:
    1 when the caller holds the lease now, 0 when another holder does
]]
local rcall = redis.call
local holder = rcall("GET", KEYS[1])
if holder == ARGV[1] then
  rcall("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
if not holder then
  rcall("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
return 0
