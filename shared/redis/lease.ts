import type { Cluster, Redis } from "ioredis";

type RedisClient = Redis | Cluster;

/**
 * A lease in Redis: a string key that holds its holder's token and expires. One holder at a time:
 * the change-feed reader of a source (shared/capture) and the runner of a job (shared/jobs) take
 * theirs here. The scripts live in TypeScript so they ship inside dist/ with the code that runs them.
 */
const SCRIPTS = {
  acquireLease: `
--[[
  Takes or renews a lease.

  KEYS[1] lease    string: token of the holder, with a TTL
  ARGV[1] token of the caller
  ARGV[2] lease duration (ms)

  Returns 1 when the caller holds the lease now, 0 when another holder does.
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
`,
  deleteIfEquals: `
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
`,
} as const;

const registered = new WeakSet<RedisClient>();

/**
 * Defines the lease scripts on the connection. Call it before the connection's first command:
 * with auto-pipelining, a command defined while a pipeline of the same tick is already open is
 * missing from that pipeline, and the call fails ("pipeline[functionName] is not a function").
 */
export function registerLeaseScripts(redis: RedisClient): void {
  if (registered.has(redis)) return;
  for (const [script, lua] of Object.entries(SCRIPTS)) redis.defineCommand(`driftless_lease_${script}`, { lua, numberOfKeys: 1 });
  registered.add(redis);
}

function command(redis: RedisClient, name: keyof typeof SCRIPTS): (...args: (string | number)[]) => Promise<number> {
  registerLeaseScripts(redis);
  const call = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<number>>)[`driftless_lease_${name}`]!;
  return call.bind(redis);
}

/** Takes or renews the lease at `key` for `token`; false while another holder has it. */
export async function acquireLease(redis: RedisClient, key: string, token: string, leaseMs: number): Promise<boolean> {
  return (await command(redis, "acquireLease")(key, token, leaseMs)) === 1;
}

/** Deletes `key` if it still holds `value` (a lease's token, a pointer); true when deleted. */
export async function deleteIfEquals(redis: RedisClient, key: string, value: string): Promise<boolean> {
  return (await command(redis, "deleteIfEquals")(key, value)) === 1;
}
