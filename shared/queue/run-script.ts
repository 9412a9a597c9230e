import type { Cluster, Redis } from "ioredis";
import { DependencyError, describeError } from "../core/errors.js";
import { checkReply } from "./errors.js";
import type { QueueKeyName, QueueKeys } from "./keys.js";
import { findLuaDir, readLua } from "./lua-files.js";

export type RedisClient = Redis | Cluster;

const SETTLE = ["inflight", "lease", "lane", "attempts", "errors", "dirty", "live", "bulk"] as const;
const SETTLE_OR_DEAD = [...SETTLE, "dead", "deadinfo", "deadseq", "meta"] as const;

/**
 * Each script with the keys it takes, in the order of its KEYS header. The file is
 * `lua/<name>-<number of keys>.lua`.
 */
export const SCRIPTS = {
  enqueue: ["live", "bulk", "inflight", "dirty", "attempts", "errors", "dead", "deadinfo", "deadseq"],
  claim: ["live", "bulk", "inflight", "lease", "lane", "attempts", "claims", "claimexpiry"],
  ack: SETTLE,
  release: SETTLE,
  retry: SETTLE_OR_DEAD,
  deadLetter: SETTLE_OR_DEAD,
  reap: SETTLE_OR_DEAD,
  extend: ["inflight", "lease"],
  reject: ["live", "bulk", "inflight", "dead", "deadinfo", "deadseq", "meta", "attempts", "errors"],
  stats: ["live", "bulk", "inflight", "dirty", "dead", "meta"],
  listDeadLetters: ["dead", "deadinfo"],
  listDeadLettersAfter: ["deadseq", "deadinfo"],
  redrive: ["dead", "deadinfo", "live", "bulk", "attempts", "errors", "deadseq"],
  purgeDeadLetters: ["dead", "deadinfo", "deadseq"],
  markSynced: ["meta"],
  recordVersions: ["versions"],
  recordTimeouts: ["lease", "timeouts", "meta"],
  clearVersions: ["versions"],
} as const satisfies Record<string, readonly QueueKeyName[]>;

export type ScriptName = keyof typeof SCRIPTS;

type Counts2 = [number, number];

/** What each script returns when it succeeds (negative codes are turned into errors). */
export interface ScriptReplies {
  /** enqueued, duplicates, and a "1" (duplicate) or "0" (enqueued) per member. */
  enqueue: [number, number, string];
  claim: (string | number)[];
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

export function scriptFile(name: ScriptName): string {
  return `${name}-${SCRIPTS[name].length}.lua`;
}

let sources: Map<ScriptName, string> | undefined;

/** The Lua source of every script, includes resolved; read from disk once per process. */
export function scriptSources(): ReadonlyMap<ScriptName, string> {
  if (!sources) {
    const dir = findLuaDir();
    sources = new Map((Object.keys(SCRIPTS) as ScriptName[]).map((name) => [name, readLua(dir, scriptFile(name))]));
  }
  return sources;
}

/** The method name ioredis gives a script on the connection. */
export const commandName = (name: ScriptName): string => `driftless_${name}`;
const registered = new WeakSet<RedisClient>();

/** Defines every queue script on this connection once; ioredis then runs each by EVALSHA. */
export function registerScripts(redis: RedisClient): void {
  if (registered.has(redis)) return;
  for (const [name, lua] of scriptSources()) {
    redis.defineCommand(commandName(name), { lua, numberOfKeys: SCRIPTS[name].length });
  }
  registered.add(redis);
}

type ScriptCommand = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

// Redis answered that the script itself is wrong: running it again cannot help. Everything else
// (connection lost, LOADING, BUSY, OOM, CLUSTERDOWN, READONLY during a failover) may pass.
const SCRIPT_BUG = /WRONGTYPE|user_script|Error running script/;

/**
 * Runs one script with its keys. A negative code becomes a QueueScriptError; a Redis failure a
 * DependencyError, retryable unless the script itself failed.
 */
export async function runScript<N extends ScriptName>(
  redis: RedisClient,
  keys: QueueKeys,
  name: N,
  args: readonly (string | number)[],
): Promise<ScriptReplies[N]> {
  const command = (redis as unknown as Record<string, ScriptCommand>)[commandName(name)];
  if (!command) throw new Error(`queue scripts are not registered on this connection`);
  let reply: unknown;
  try {
    reply = await command.call(redis, ...SCRIPTS[name].map((key) => keys[key]), ...args);
  } catch (error) {
    const message = describeError(error);
    throw new DependencyError("redis", `queue script ${name} failed: ${message}`, {
      cause: error,
      retryable: !SCRIPT_BUG.test(message),
    });
  }
  return checkReply(name, reply as ScriptReplies[N]);
}
