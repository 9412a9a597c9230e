import type { RedisClient } from "./client.js";
import { registerScripts, scriptCommand } from "./scripts.js";

/*
 * A lease in Redis: a string key that holds its holder's token and expires. One holder at a time:
 * the change-feed reader of a source (shared/capture) and the runner of a job (shared/jobs) take
 * theirs here (lua/acquireLease-1.lua, lua/deleteIfEquals-1.lua).
 */

async function run(
  redis: RedisClient,
  name: "acquireLease" | "deleteIfEquals",
  ...args: (string | number)[]
): Promise<number> {
  registerScripts(redis);
  return (await scriptCommand(redis, name)(...args)) as number;
}

/** Takes or renews the lease at `key` for `token`; false while another holder has it. */
export async function acquireLease(redis: RedisClient, key: string, token: string, leaseMs: number): Promise<boolean> {
  return (await run(redis, "acquireLease", key, token, leaseMs)) === 1;
}

/** Deletes `key` if it still holds `value` (a lease's token, a pointer); true when deleted. */
export async function deleteIfEquals(redis: RedisClient, key: string, value: string): Promise<boolean> {
  return (await run(redis, "deleteIfEquals", key, value)) === 1;
}
