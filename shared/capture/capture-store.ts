import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { acquireLease, deleteIfEquals } from "../queue/lease.js";
import { findLuaDir, readLua } from "../queue/lua-files.js";
import { queueKeys } from "../queue/keys.js";

type RedisClient = Redis | Cluster;

/**
 * Where a source's change-feed reader keeps its lease and its per-feed-range continuations.
 * The keys share the queue's hash tag, so every script touches one cluster slot.
 */
export interface CaptureStore {
  readonly token: string;
  /** Takes or renews the lease; false while another reader holds it. */
  acquire(leaseMs: number): Promise<boolean>;
  release(): Promise<void>;
  /** The saved continuation of every feed range. */
  checkpoints(): Promise<Map<string, string>>;
  /** Saves a continuation; false (and nothing saved) when this reader lost its lease. */
  saveCheckpoint(rangeId: string, continuation: string): Promise<boolean>;
}

const SCRIPTS = { saveCheckpoint: 2 } as const;
const registered = new WeakSet<RedisClient>();

function register(redis: RedisClient) {
  if (registered.has(redis)) return;
  const dir = findLuaDir(import.meta.url, "shared/capture/lua");
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    redis.defineCommand(`driftless_capture_${name}`, { lua: readLua(dir, `${name}-${keys}.lua`), numberOfKeys: keys });
  }
  registered.add(redis);
}

type ScriptCall = (...args: (string | number)[]) => Promise<number>;

export function createCaptureStore(redis: RedisClient, prefix: string, source: string): CaptureStore {
  register(redis);
  queueKeys(prefix, source); // validates both names the way the queue does
  const base = `${prefix}:{${source}}`;
  const lease = `${base}:capture:lease`;
  const checkpoints = `${base}:capture:checkpoints`;
  const token = randomUUID();
  const call = (name: keyof typeof SCRIPTS) => (redis as unknown as Record<string, ScriptCall>)[`driftless_capture_${name}`]!.bind(redis);

  return {
    token,
    acquire: (leaseMs) => acquireLease(redis, lease, token, leaseMs),
    async release() {
      await deleteIfEquals(redis, lease, token);
    },
    async checkpoints() {
      return new Map(Object.entries(await redis.hgetall(checkpoints)));
    },
    async saveCheckpoint(rangeId, continuation) {
      return (await call("saveCheckpoint")(lease, checkpoints, token, rangeId, continuation)) === 1;
    },
  };
}
