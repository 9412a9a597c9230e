import { DependencyError, describeError } from "../core/errors.js";
import type { RedisClient } from "../redis/client.js";
import type { QueueKeys } from "../redis/keys.js";
import { QUEUE_SCRIPTS, scriptCommand, type QueueScriptName } from "../redis/scripts.js";
import { checkReply } from "./errors.js";

type Counts2 = [number, number];

/** What each queue script returns when it succeeds (negative codes are turned into errors). */
export interface ScriptReplies {
  /** enqueued, duplicates, and a "1" (duplicate) or "0" (enqueued) per member. */
  enqueue: [number, number, string];
  /** member, attempts, lane, version record or null, timeout record or null, … */
  claim: (string | number | null)[];
  ack: Counts2;
  release: Counts2;
  retry: [number, number, number];
  deadLetter: Counts2;
  reap: Counts2;
  extend: Counts2;
  reject: number;
  stats: [number, number, number, number, number, number, number, string | null];
  listDeadLetters: (string | null)[];
  /** member, info JSON, sequence number, … */
  listDeadLettersAfter: (string | null)[];
  redrive: number;
  purgeDeadLetters: number;
  markSynced: number;
  recordVersions: number;
  recordTimeouts: number[];
  clearVersions: number;
}

// Redis answered that the script itself is wrong: running it again cannot help. Everything else
// (connection lost, LOADING, BUSY, OOM, CLUSTERDOWN, READONLY during a failover) may pass.
const SCRIPT_BUG = /WRONGTYPE|user_script|Error running script/;

/**
 * Runs one queue script with its keys. A negative code becomes a QueueScriptError; a Redis failure a
 * DependencyError, retryable unless the script itself failed.
 */
export async function runScript<N extends QueueScriptName>(
  redis: RedisClient,
  keys: QueueKeys,
  name: N,
  args: readonly (string | number)[],
): Promise<ScriptReplies[N]> {
  const command = scriptCommand(redis, name);
  let reply: unknown;
  try {
    reply = await command(...QUEUE_SCRIPTS[name].map((key) => keys[key]), ...args);
  } catch (error) {
    const message = describeError(error);
    throw new DependencyError("redis", `queue script ${name} failed: ${message}`, {
      cause: error,
      retryable: !SCRIPT_BUG.test(message),
    });
  }
  return checkReply(name, reply as ScriptReplies[N]);
}
