import { DependencyError, describeError } from "../core/errors.js";
import type { WriteTargets } from "../elastic/fan-out.js";
import type { RedisClient } from "../redis/client.js";
import { jobKeys } from "../redis/keys.js";

/**
 * The rebuild's write targets in Redis: a rebuild publishes its new index's alias here, and the
 * sink's fan-out (shared/elastic/fan-out.ts) reads it on every live write.
 */
export function createWriteTargets(redis: RedisClient, prefix: string): WriteTargets {
  const key = (source: string) => jobKeys(prefix, source).writeTarget;
  return {
    async extraTargets(source) {
      let value: string | null;
      try {
        value = await redis.get(key(source));
      } catch (error) {
        throw new DependencyError("redis", `reading the rebuild write target failed: ${describeError(error)}`, {
          cause: error,
        });
      }
      return value ? [value] : [];
    },
    async publish(source, alias) {
      await redis.set(key(source), alias);
    },
    async withdraw(source, alias) {
      const current = await redis.get(key(source));
      if (current === alias) await redis.del(key(source));
    },
  };
}
