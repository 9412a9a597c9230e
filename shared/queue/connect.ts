import { Redis } from "ioredis";

/**
 * One Redis connection for the queue. `rediss://` URLs get TLS (Azure Managed Redis requires it).
 * Commands wait in ioredis's offline queue while Redis restarts, but not forever: a call
 * fails after `commandTimeoutMs`, so a sync batch gives up and its keys stay safely in flight.
 */
export function connectRedis(url: string, { commandTimeoutMs = 10_000 }: { commandTimeoutMs?: number } = {}): Redis {
  return new Redis(url, {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  });
}
