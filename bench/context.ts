import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Container, CosmosClient } from "@azure/cosmos";
import { createCosmosClient } from "../shared/cosmos/client.js";
import { partitionKeyDefinition } from "../shared/cosmos/provision.js";
import { createElasticClient, ensureIndex, type Client } from "../shared/elastic/index.js";
import { stackEnv, startStack, type Stack } from "../scripts/stack/stack.js";
import { listeningPid } from "./cpu.js";
import { benchMapping } from "./docs.js";
import type { Sizes } from "./sizes.js";

export const DATABASE = "driftless-bench";
export const CONTAINER = "docs";
export const PARTITION_KEY_PATH = "/tenant";

/**
 * A container of the bench's database, created as driftless provisions a source's (hash version
 * 2): the SDK routes every read by its key's hash, and a container created without a version
 * makes it hash with version 1.
 */
export async function createBenchContainer(cosmos: CosmosClient, id: string): Promise<Container> {
  const { container } = await cosmos
    .database(DATABASE)
    .containers.createIfNotExists({ id, partitionKey: partitionKeyDefinition([PARTITION_KEY_PATH]) });
  return container;
}

/** Every index the benchmark writes is created alike, so their numbers compare. */
export const INDEX_SETTINGS = { number_of_shards: 1, number_of_replicas: 0 };

export interface BenchContext {
  readonly quick: boolean;
  readonly sizes: Sizes;
  readonly stack: Stack;
  /** REDIS_URL, ELASTICSEARCH_URL, COSMOS_* of the stack. */
  readonly stackEnv: Readonly<Record<string, string>>;
  readonly cosmos: CosmosClient;
  /** The seeded container, shared by every measurement that reads. */
  readonly container: Container;
  readonly elastic: Client;
  /** A source definition over `container` (or another) writing to `alias`, as DRIFTLESS_SOURCES takes it. */
  source(name: string, alias: string, container?: string): Record<string, unknown>;
  /** The environment a driftless process needs for these sources. */
  env(sources: readonly Record<string, unknown>[], extra?: Record<string, string>): Record<string, string>;
  /** The processes of the stack (found by their listening ports), for CPU accounting. */
  pids(): Promise<Record<"elasticsearch" | "cosmos" | "redis", number | undefined>>;
  /** Creates `alias` and its index as driftless would (mapping, metadata fields, settings). */
  createAlias(alias: string): Promise<void>;
  dropAlias(alias: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the local stack the way the tests do (services given in the environment are used instead). */
export async function createContext(dir: string, quick: boolean, sizes: Sizes): Promise<BenchContext> {
  await mkdir(dir, { recursive: true });
  // Elasticsearch runs as `nobody` when this runs as root; it has to reach its directory.
  await chmod(dir, 0o755);
  const stack = await startStack({ dir });
  const endpoints = stackEnv(stack);
  const cosmos = createCosmosClient({
    endpoint: stack.cosmos.endpoint,
    key: stack.cosmos.key,
    ...(stack.cosmos.caFile ? { caFile: stack.cosmos.caFile } : {}),
  });
  await cosmos.databases.createIfNotExists({ id: DATABASE });
  const container = await createBenchContainer(cosmos, CONTAINER);
  const elastic = createElasticClient({ node: stack.elasticsearchUrl });

  const source = (name: string, alias: string, containerName = CONTAINER) => ({
    name,
    database: DATABASE,
    container: containerName,
    partitionKeyPath: PARTITION_KEY_PATH,
    index: alias,
    mapping: benchMapping,
    settings: INDEX_SETTINGS,
  });

  const portOf = (url: string) => Number(new URL(url).port);
  let pids: Promise<Record<"elasticsearch" | "cosmos" | "redis", number | undefined>> | undefined;

  return {
    quick,
    sizes,
    stack,
    stackEnv: endpoints,
    cosmos,
    container,
    elastic,
    source,
    env: (sources, extra = {}) => ({
      ...endpoints,
      DRIFTLESS_SOURCES: JSON.stringify(sources),
      REDIS_KEY_PREFIX: `bench-${Date.now().toString(36)}`,
      LOG_LEVEL: "warn",
      ...extra,
    }),
    pids: () =>
      (pids ??= (async () => ({
        elasticsearch: await listeningPid(portOf(stack.elasticsearchUrl)),
        cosmos: await listeningPid(portOf(stack.cosmos.endpoint)),
        redis: await listeningPid(portOf(stack.redisUrl)),
      }))()),
    async createAlias(alias) {
      await ensureIndex(elastic, { alias, mapping: benchMapping, settings: INDEX_SETTINGS });
    },
    async dropAlias(alias) {
      // Deleting by wildcard is refused (action.destructive_requires_name): name the indices.
      const indices = Object.keys(
        await elastic.indices.get({ index: `${alias}-*`, allow_no_indices: true, expand_wildcards: "all" }),
      );
      if (indices.length > 0) await elastic.indices.delete({ index: indices });
    },
    async close() {
      await elastic.close();
      cosmos.dispose();
      await stack.stop();
    },
  };
}

export const stackDir = (root: string) => join(root, "stack");
