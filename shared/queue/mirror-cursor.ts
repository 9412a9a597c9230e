import type { Redis } from "ioredis";
import type { MirrorCursorStore } from "../deadletters/mirror.js";
import { queueKeys } from "./keys.js";

/** The dead-letter mirror's cursor: one Redis string per source, next to the source's queue keys. */
export function redisMirrorCursor(redis: Redis, prefix: string, source: string): MirrorCursorStore {
  const key = `${queueKeys(prefix, source).meta}:mirrored`;
  return {
    async load() {
      return Number((await redis.get(key)) ?? 0);
    },
    async save(deadLetteredAt) {
      await redis.set(key, String(deadLetteredAt));
    },
  };
}
