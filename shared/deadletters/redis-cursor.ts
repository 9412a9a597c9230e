import type { Redis } from "ioredis";
import { queueKeys } from "../queue/keys.js";
import type { MirrorCursorStore } from "./mirror.js";

/**
 * The dead-letter mirror's cursor: one Redis string per source, next to the source's queue keys,
 * holding the sequence number of the last letter sent. Its own key: the one before it
 * (`…:mirrored`) held a time, which means nothing as a sequence number.
 */
export function redisMirrorCursor(redis: Redis, prefix: string, source: string): MirrorCursorStore {
  const key = `${queueKeys(prefix, source).meta}:mirroredSequence`;
  return {
    async load() {
      return Number((await redis.get(key)) ?? 0);
    },
    async save(sequence) {
      await redis.set(key, String(sequence));
    },
  };
}
