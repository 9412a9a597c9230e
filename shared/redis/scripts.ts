import type { RedisClient } from "./client.js";
import type { CaptureKeys, QueueKeyName, WakeKeys } from "./keys.js";
import { findLuaDir, readLua } from "./lua-files.js";

/*
 * The one way to run a Redis script: a file `lua/<name>-<number of keys>.lua` with a BullMQ-style
 * header (what KEYS and ARGV are, what it returns), listed below with the keys it takes, defined
 * on a connection by `registerScripts` as `driftless_<name>` and run by EVALSHA through ioredis.
 */

const SETTLE = ["inflight", "lease", "lane", "attempts", "errors", "dirty", "live", "bulk"] as const;
const SETTLE_OR_DEAD = [...SETTLE, "dead", "deadinfo", "deadseq", "meta"] as const;

/** The queue's scripts (shared/queue/run-script.ts), each with its keys in the order of its KEYS header. */
export const QUEUE_SCRIPTS = {
  enqueue: ["live", "bulk", "inflight", "dirty", "attempts", "errors", "dead", "deadinfo", "deadseq"],
  claim: ["live", "bulk", "inflight", "lease", "lane", "attempts", "claims", "claimexpiry", "versions", "timeouts"],
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

/** The jobs' scripts (shared/jobs/store.ts), one per state change of a job. */
export const JOB_SCRIPTS = {
  createJob: ["active", "job", "list"],
  commitJob: ["lease", "job"],
  finishJob: ["lease", "job", "active"],
  cancelJob: ["job", "active", "lease"],
} as const;

/** A lease, or a pointer, that only its holder moves (lease.ts): the capture reader's and a job runner's. */
export const LEASE_SCRIPTS = {
  acquireLease: ["lease"],
  deleteIfEquals: ["key"],
} as const;

/** The change capture's scripts (shared/capture/capture-store.ts). */
export const CAPTURE_SCRIPTS = {
  saveCheckpoint: ["lease", "continuation", "checkpoints"],
} as const satisfies Record<string, readonly (keyof CaptureKeys)[]>;

/** The wake-up's (shared/dispatch/wake.ts): whether an enqueue sends a ticket, and the running drains' marks. */
export const WAKE_SCRIPTS = {
  wake: ["sent", "draining"],
  startDrain: ["draining"],
  endDrain: ["draining", "sent"],
} as const satisfies Record<string, readonly (keyof WakeKeys)[]>;

/** Every script with the keys it takes, in the order of its KEYS header. */
export const SCRIPTS = {
  ...QUEUE_SCRIPTS,
  ...JOB_SCRIPTS,
  ...LEASE_SCRIPTS,
  ...CAPTURE_SCRIPTS,
  ...WAKE_SCRIPTS,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
export type QueueScriptName = keyof typeof QUEUE_SCRIPTS;

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

/**
 * Defines every script on this connection once; ioredis then runs each by EVALSHA. Call it right
 * after connecting, before the connection's first command: with auto-pipelining, a command
 * defined while a pipeline of the same tick is already open is missing from that pipeline, and
 * the call fails ("pipeline[functionName] is not a function").
 */
export function registerScripts(redis: RedisClient): void {
  if (registered.has(redis)) return;
  for (const [name, lua] of scriptSources()) {
    redis.defineCommand(commandName(name), { lua, numberOfKeys: SCRIPTS[name].length });
  }
  registered.add(redis);
}

export type ScriptCommand = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/** The script's command on this connection, which takes its keys (in SCRIPTS order) then its arguments. */
export function scriptCommand(redis: RedisClient, name: ScriptName): ScriptCommand {
  const command = (redis as unknown as Record<string, ScriptCommand | undefined>)[commandName(name)];
  if (!command) throw new Error(`Redis scripts are not registered on this connection`);
  return command.bind(redis);
}
