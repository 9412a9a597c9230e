import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { acquireLease, deleteIfEquals } from "../queue/lease.js";
import { findLuaDir, readLua } from "../queue/lua-files.js";
import { queueKeys } from "../queue/keys.js";

type RedisClient = Redis | Cluster;

/** What a source's reader saved: its continuation, or the per-range ones of an earlier version. */
export interface SavedCheckpoint {
  /** One composite continuation for the whole container (shared/cosmos/change-feed.ts). */
  readonly continuation: string | undefined;
  /** Feed range (`min-max`) -> continuation, as versions before the whole-container reader kept them; empty once a continuation is saved. */
  readonly perRange: ReadonlyMap<string, string>;
}

/**
 * Where a source's change-feed reader keeps its lease and its continuation.
 * The keys share the queue's hash tag, so every script touches one cluster slot.
 */
export interface CaptureStore {
  readonly token: string;
  /** Takes or renews the lease; false while another reader holds it. */
  acquire(leaseMs: number): Promise<boolean>;
  release(): Promise<void>;
  checkpoint(): Promise<SavedCheckpoint>;
  /** Saves the continuation (and drops per-range ones); false (and nothing saved) when this reader lost its lease. */
  saveCheckpoint(continuation: string): Promise<boolean>;
}

const SCRIPTS = { saveCheckpoint: 3 } as const;
const registered = new WeakSet<RedisClient>();

/** Defines the capture scripts on the connection; before its first command (see registerLeaseScripts). */
export function registerCaptureScripts(redis: RedisClient): void {
  if (registered.has(redis)) return;
  const dir = findLuaDir(import.meta.url, "shared/capture/lua");
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    redis.defineCommand(`driftless_capture_${name}`, { lua: readLua(dir, `${name}-${keys}.lua`), numberOfKeys: keys });
  }
  registered.add(redis);
}

type ScriptCall = (...args: (string | number)[]) => Promise<number>;

export function createCaptureStore(redis: RedisClient, prefix: string, source: string): CaptureStore {
  registerCaptureScripts(redis);
  queueKeys(prefix, source); // validates both names the way the queue does
  const base = `${prefix}:{${source}}`;
  const lease = `${base}:capture:lease`;
  const continuation = `${base}:capture:continuation`;
  const perRange = `${base}:capture:checkpoints`;
  const token = randomUUID();
  const call = (name: keyof typeof SCRIPTS) => (redis as unknown as Record<string, ScriptCall>)[`driftless_capture_${name}`]!.bind(redis);

  return {
    token,
    acquire: (leaseMs) => acquireLease(redis, lease, token, leaseMs),
    async release() {
      await deleteIfEquals(redis, lease, token);
    },
    async checkpoint() {
      const [saved, ranges] = await Promise.all([redis.get(continuation), redis.hgetall(perRange)]);
      return { continuation: saved ?? undefined, perRange: new Map(Object.entries(ranges)) };
    },
    async saveCheckpoint(value) {
      return (await call("saveCheckpoint")(lease, continuation, perRange, token, value)) === 1;
    },
  };
}
