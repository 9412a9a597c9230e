import { readFileSync } from "node:fs";
import { Redis, type Cluster } from "ioredis";
import { ConfigError } from "../core/errors.js";

/** Every module that talks to Redis takes this: a connection, or a Redis Cluster client in the tests. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** A command fails after this long (REDIS_COMMAND_TIMEOUT_MS). @defaultValue 10000 */
  readonly commandTimeoutMs?: number;
  /** PEM CA to trust for a `rediss://` server (REDIS_CA_FILE). */
  readonly caFile?: string | undefined;
  /** Skip certificate verification for `rediss://` (REDIS_TLS_INSECURE; local tests only). @defaultValue false */
  readonly tlsInsecure?: boolean;
}

/**
 * Commands sent as they are called, outside ioredis's auto-pipelining: the enqueue script is
 * merged per event-loop turn already (queue/coalesce.ts), so pipelining it again only built a
 * pipeline per call, with a method for each of the driftless scripts, for one command
 * (bench/README.md, the producer). The name is `commandName("enqueue")` of redis/scripts.ts, which
 * test/unit/redis-scripts.test.ts holds it to.
 */
export const UNPIPELINED_COMMANDS: readonly string[] = ["driftless_enqueue"];

/**
 * The one Redis connection of a process (queue, jobs, capture). `rediss://` URLs get TLS (Azure
 * Managed Redis requires it), verified against the system CAs or REDIS_CA_FILE. Commands wait in ioredis's offline queue
 * while Redis restarts, but not forever: a call fails after `commandTimeoutMs`, so a sync batch
 * gives up and its keys stay safely in flight.
 */
export function connectRedis(
  url: string,
  { commandTimeoutMs = 10_000, caFile, tlsInsecure = false }: RedisConnectOptions = {},
): Redis {
  const tls = url.startsWith("rediss:")
    ? { tls: { rejectUnauthorized: !tlsInsecure, ...(caFile ? { ca: readCa(caFile) } : {}) } }
    : {};
  return new Redis(url, {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: [...UNPIPELINED_COMMANDS],
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
    ...tls,
  });
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError("REDIS_CA_FILE", `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
}
