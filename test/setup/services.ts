import { randomBytes } from "node:crypto";
import { inject } from "vitest";

/**
 * What the global setup started for this run (see test/setup/global.ts). Services given by URL in
 * the environment (REDIS_URL, ELASTICSEARCH_URL, COSMOS_ENDPOINT + COSMOS_KEY) are used instead.
 */
export interface TestServices {
  redisUrl: string;
  elasticsearchUrl: string;
  cosmos: { endpoint: string; key: string; caFile: string | null };
}

declare module "vitest" {
  export interface ProvidedContext {
    services: TestServices;
  }
}

export function services(): TestServices {
  return inject("services");
}

/** A name unique to this test, safe for Redis prefixes, index names and Cosmos ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}
