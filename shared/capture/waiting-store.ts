import { waitForReplicas, type ReplicaWait } from "../queue/replica-wait.js";
import type { RedisClient } from "../redis/client.js";
import type { CaptureStore } from "./capture-store.js";

/**
 * With REDIS_WAIT_REPLICAS, a checkpoint counts as saved once the replicas have it; a shortfall
 * throws, and the capture loop reads from its last checkpoint again (the page's keys were
 * enqueued, and waited for, before it).
 */
export function waitingStore(store: CaptureStore, redis: RedisClient, wait: ReplicaWait | undefined): CaptureStore {
  if (!wait) return store;
  return {
    ...store,
    async saveCheckpoint(...args: Parameters<CaptureStore["saveCheckpoint"]>) {
      const saved = await store.saveCheckpoint(...args);
      if (saved) await waitForReplicas(redis, wait, "saving a capture checkpoint");
      return saved;
    },
  };
}
