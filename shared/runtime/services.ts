import type { CosmosClient } from "@azure/cosmos";
import type { Redis } from "ioredis";
import type { ApiServices, HealthCheck } from "../api/types.js";
import type { Config } from "../config/load-config.js";
import type { SourceConfig } from "../config/source.js";
import { systemClock, type Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import { createCosmosClient } from "../cosmos/client.js";
import { createCosmosReader } from "../cosmos/reader.js";
import { createBulkSink, createElasticClient, ensureIndex, type Client } from "../elastic/index.js";
import { connectRedis } from "../queue/connect.js";
import { createQueue } from "../queue/index.js";
import type { SourceQueue } from "../queue/types.js";
import type { SyncDeps } from "../sync/engine.js";
import type { Logger } from "../telemetry/logger.js";

export interface SourceRuntime {
  readonly config: SourceConfig;
  readonly queue: SourceQueue;
  readonly sync: SyncDeps;
}

export interface Services extends ApiServices {
  readonly config: Config;
  readonly logger: Logger;
  /** The adapters' clients, for work beyond the sync path (capture, jobs). */
  readonly clients: { readonly redis: Redis; readonly elastic: Client; readonly cosmos: CosmosClient };
  readonly sources: ReadonlyMap<string, SourceRuntime>;
  /** Creates each source's index and alias when missing; safe to call on every start. */
  ensureIndexes(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The composition root: builds every adapter once from validated config and wires the core to
 * them. Functions and worker mode both start here, so they run the same code.
 */
export function createServices(config: Config, logger: Logger, clock: Clock = systemClock): Services {
  const redis = connectRedis(config.redis.url);
  redis.on("error", (error: Error) => logger.warn({ err: describeError(error) }, "redis connection error"));
  const queue = createQueue(redis, { prefix: config.redis.keyPrefix, retry: config.queue.retry });
  const elastic = createElasticClient({ ...config.elasticsearch });
  const sink = createBulkSink(elastic);
  const cosmos = createCosmosClient(config.cosmos);

  const sources = new Map<string, SourceRuntime>();
  for (const source of config.sources) {
    const sourceQueue = queue.forSource(source.name);
    sources.set(source.name, {
      config: source,
      queue: sourceQueue,
      sync: {
        source,
        queue: sourceQueue,
        reader: createCosmosReader(cosmos, source),
        sink,
        clock,
        logger: logger.child({ source: source.name }),
        options: {
          batchSize: config.sync.batchSize,
          batchMaxBytes: config.sync.batchMaxBytes,
          leaseMs: config.queue.leaseMs,
          bulkShare: config.queue.bulkShare,
          writeTimeoutMs: config.elasticsearch.requestTimeoutMs,
        },
      },
    });
  }

  return {
    config,
    logger,
    clock,
    clients: { redis, elastic, cosmos },
    sources,
    limits: { maxItems: config.api.maxItems, maxBodyBytes: config.api.maxBodyBytes },
    async health() {
      const [redisCheck, elasticCheck, cosmosCheck] = await Promise.all([
        timed(async () => void (await redis.ping())),
        timed(async () => void (await elastic.cluster.health({ timeout: "5s" }, { requestTimeout: 5000 }))),
        timed(async () => void (await cosmos.getDatabaseAccount())),
      ]);
      return { redis: redisCheck, elasticsearch: elasticCheck, cosmos: cosmosCheck };
    },
    async ensureIndexes() {
      for (const source of config.sources) {
        await ensureIndex(elastic, { alias: source.index, mapping: source.mapping, settings: source.settings });
      }
    },
    async close() {
      await Promise.allSettled([redis.quit(), elastic.close()]);
      cosmos.dispose();
    },
  };
}

async function timed(check: () => Promise<void>): Promise<HealthCheck> {
  const started = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: describeError(error).slice(0, 300) };
  }
}
