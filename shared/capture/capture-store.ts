import { randomUUID } from "node:crypto";
import type { RedisClient } from "../redis/client.js";
import { captureKeys } from "../redis/keys.js";
import { acquireLease, deleteIfEquals } from "../redis/lease.js";
import { registerScripts, scriptCommand } from "../redis/scripts.js";

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

export function createCaptureStore(redis: RedisClient, prefix: string, source: string): CaptureStore {
  registerScripts(redis);
  const { lease, continuation, checkpoints: perRange } = captureKeys(prefix, source);
  const token = randomUUID();

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
      return (await scriptCommand(redis, "saveCheckpoint")(lease, continuation, perRange, token, value)) === 1;
    },
  };
}
