import { Redis } from "ioredis";
import { afterAll, afterEach } from "vitest";
import { services, uniqueName } from "./services.js";

/**
 * A connection to the test Redis for one test file, closed after its tests, and fresh key
 * prefixes whose keys are deleted after each test. Call it at the top of the file.
 */
export function useTestRedis(): { readonly redis: Redis; prefix(name: string): string } {
  const redis = new Redis(services().redisUrl);
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });
  afterAll(async () => {
    await redis.quit();
  });
  return {
    redis,
    prefix(name) {
      const prefix = uniqueName(name);
      prefixes.push(prefix);
      return prefix;
    },
  };
}
