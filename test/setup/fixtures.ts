import { PartitionKeyDefinitionVersion, PartitionKeyKind } from "@azure/cosmos";
import type { Container } from "@azure/cosmos";
import { loadConfig, type Config } from "../../shared/config/index.js";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { createElasticClient, type Client } from "../../shared/elastic/index.js";
import { services, uniqueName } from "./services.js";

export interface TestSource {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly config: Config;
  readonly container: Container;
  readonly elastic: Client;
  /** Every document in the index behind the alias, by id, with its external version. */
  indexed(): Promise<Map<string, { version: number; source: Record<string, unknown> }>>;
  dispose(): Promise<void>;
}

/**
 * A source of its own for one test file: a fresh Cosmos container, a fresh alias and a fresh
 * Redis prefix on the shared stack, and the environment that configures driftless for it.
 */
export async function createTestSource(
  options: { partitionKeyPath?: string | string[]; extra?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<TestSource> {
  const stack = services();
  const name = uniqueName("src").replace(/[^a-z0-9_-]/g, "");
  const partitionKeyPath = options.partitionKeyPath ?? "/tenant";
  const source = {
    name,
    database: "driftless-test",
    container: name,
    partitionKeyPath,
    index: `idx-${name}`,
    mapping: { properties: { title: { type: "text" }, n: { type: "integer" }, tenant: { type: "keyword" } } },
    ...options.extra,
  };
  const env: Record<string, string> = {
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: `t-${name}`,
    ELASTICSEARCH_URL: stack.elasticsearchUrl,
    COSMOS_ENDPOINT: stack.cosmos.endpoint,
    COSMOS_KEY: stack.cosmos.key,
    ...(stack.cosmos.caFile ? { COSMOS_CA_FILE: stack.cosmos.caFile } : {}),
    DRIFTLESS_SOURCES: JSON.stringify([source]),
    QUEUE_BACKOFF_BASE_MS: "100",
    QUEUE_BACKOFF_MAX_MS: "1000",
    SYNC_IDLE_POLL_MS: "50",
    LOG_LEVEL: "silent",
    ...options.env,
  };
  const config = loadConfig(env);
  const cosmos = createCosmosClient(config.cosmos);
  const { database } = await cosmos.databases.createIfNotExists({ id: source.database });
  // A list is a hierarchical key (MultiHash), as Cosmos DB defines one.
  const partitionKey = Array.isArray(partitionKeyPath)
    ? { paths: partitionKeyPath, kind: PartitionKeyKind.MultiHash, version: PartitionKeyDefinitionVersion.V2 }
    : { paths: [partitionKeyPath] };
  const { container } = await database.containers.createIfNotExists({ id: source.container, partitionKey });
  const elastic = createElasticClient({ node: stack.elasticsearchUrl });

  return {
    name,
    env,
    config,
    container,
    elastic,
    async indexed() {
      await elastic.indices.refresh({ index: source.index });
      // Pages through a point in time, so indexes beyond one search's 10,000 hits are read whole.
      const entries = new Map<string, { version: number; source: Record<string, unknown> }>();
      let pit = (await elastic.openPointInTime({ index: source.index, keep_alive: "1m" })).id;
      let after: unknown[] | undefined;
      try {
        for (;;) {
          const result = await elastic.search<Record<string, unknown>>({
            pit: { id: pit, keep_alive: "1m" },
            size: 10_000,
            version: true,
            sort: [{ _shard_doc: "asc" }],
            ...(after ? { search_after: after as never } : {}),
            track_total_hits: false,
          });
          for (const hit of result.hits.hits) entries.set(hit._id!, { version: hit._version!, source: hit._source! });
          pit = result.pit_id ?? pit;
          after = result.hits.hits.at(-1)?.sort;
          if (result.hits.hits.length < 10_000) return entries;
        }
      } finally {
        await elastic.closePointInTime({ id: pit }).catch(() => undefined);
      }
    },
    async dispose() {
      await container.delete().catch(() => undefined);
      await elastic.indices.delete({ index: `${source.index}-*`, ignore_unavailable: true }).catch(() => undefined);
      await elastic.close();
      cosmos.dispose();
    },
  };
}

/** Polls until `check` passes (it throws until then), or fails with its last error. */
export async function eventually<T>(
  check: () => Promise<T>,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
