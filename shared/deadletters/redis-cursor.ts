import type { RedisClient } from "../redis/client.js";
import { mirrorCursorKey } from "../redis/keys.js";
import type { MirrorCursorStore } from "./mirror.js";

/**
 * The dead-letter mirror's cursor: one Redis string per source, next to the source's queue keys,
 * holding the sequence number of the last letter sent (its key: mirrorCursorKey).
 */
export function redisMirrorCursor(redis: RedisClient, prefix: string, source: string): MirrorCursorStore {
  const key = mirrorCursorKey(prefix, source);
  return {
    async load() {
      return Number((await redis.get(key)) ?? 0);
    },
    async save(sequence) {
      await redis.set(key, String(sequence));
    },
  };
}
