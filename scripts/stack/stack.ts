/**
 * The local stack without Docker: Redis, Elasticsearch and a Cosmos DB emulator as child
 * processes of the caller (the vitest global setup, `make dev`), each under `dir`:
 *
 * - Redis: the Debian `redis-server`, bound to 127.0.0.1, nothing persisted.
 * - Elasticsearch: the integration-test distribution fetched once from Maven Central with `mvn`
 *   and unpacked into a cache outside the repo (see `cacheDir()`: DRIFTLESS_CACHE_DIR, else
 *   $XDG_CACHE_HOME/driftless, else /var/cache/driftless for root, ~/.cache/driftless otherwise);
 *   version from DRIFTLESS_ES_VERSION (default 8.19.7), JDK from ES_JAVA_HOME / JAVA_HOME / java
 *   on PATH. It refuses to run as root, so as root it runs as `nobody` through setpriv.
 * - Cosmos: @vercel/cosmosdb-server in its own Node process, over TLS with a self-signed localhost
 *   certificate that clients trust through `caFile`; data in memory only.
 *
 * A service given in the environment is used instead of starting one: REDIS_URL,
 * ELASTICSEARCH_URL, COSMOS_ENDPOINT with COSMOS_KEY (and COSMOS_CA_FILE when its certificate is
 * not publicly trusted). Every child dies with the caller, even when the caller is killed.
 */
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../../shared/core/errors.js";
import { startCosmosEmulator, type CosmosEmulatorHandle, type CosmosEmulatorOptions } from "./cosmos.js";
import { startElasticsearch, type ElasticsearchHandle } from "./elasticsearch.js";
import { startRedis, type RedisHandle } from "./redis.js";
import { isRoot, unprivilegedAccount, unreachableAncestor } from "./unprivileged.js";

export { writeLocalEnv, type EnvValues } from "./local-env.js";

export interface StackOptions {
  /** Parent of the services' working directories (redis/, elasticsearch/, cosmos/). */
  dir: string;
  /** Where REDIS_URL, ELASTICSEARCH_URL, COSMOS_* overrides are read. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Settings of the Cosmos DB emulator when it is started (see CosmosEmulatorOptions).
   * @defaultValue `{ partitionRanges: 4 }`: several feed ranges per container, as a container of
   * any size has in Cosmos DB, so code that assumes one range fails locally first.
   */
  cosmos?: Pick<CosmosEmulatorOptions, "partitionRanges" | "replicaLagMs">;
}

export interface CosmosConnection {
  endpoint: string;
  key: string;
  /** PEM file to trust as CA, or null when the endpoint's certificate is publicly trusted. */
  caFile: string | null;
}

/** The services this call started; a service taken from the environment has no handle. */
export interface StackHandles {
  redis?: RedisHandle;
  elasticsearch?: ElasticsearchHandle;
  cosmos?: CosmosEmulatorHandle;
}

export interface Stack {
  redisUrl: string;
  elasticsearchUrl: string;
  cosmos: CosmosConnection;
  handles: StackHandles;
  /** Stops every started service; idempotent. */
  stop(): Promise<void>;
}

/** Starts what the environment does not provide, all three in parallel. */
export async function startStack({
  dir,
  env = process.env,
  cosmos: cosmosOptions = { partitionRanges: 4 },
}: StackOptions): Promise<Stack> {
  const root = resolve(dir);
  // Empty values count as not given, as an unset variable in a .env file often is.
  const given = {
    redisUrl: env.REDIS_URL || undefined,
    elasticsearchUrl: env.ELASTICSEARCH_URL || undefined,
    cosmos: env.COSMOS_ENDPOINT
      ? { endpoint: env.COSMOS_ENDPOINT, key: env.COSMOS_KEY ?? "", caFile: env.COSMOS_CA_FILE || null }
      : undefined,
  };
  if (given.cosmos && !given.cosmos.key) throw new ConfigError("COSMOS_KEY", "is required when COSMOS_ENDPOINT is set");
  await mkdir(root, { recursive: true });
  const esDir = given.elasticsearchUrl ? undefined : await elasticsearchDir(root);

  const [redis, elasticsearch, cosmos] = await Promise.allSettled([
    given.redisUrl ? undefined : startRedis({ dir: join(root, "redis") }),
    esDir ? startElasticsearch({ dir: esDir.path, env }) : undefined,
    given.cosmos ? undefined : startCosmosEmulator({ dir: join(root, "cosmos"), ...cosmosOptions }),
  ]);
  const handles: StackHandles = {
    redis: redis.status === "fulfilled" ? redis.value : undefined,
    elasticsearch: elasticsearch.status === "fulfilled" ? elasticsearch.value : undefined,
    cosmos: cosmos.status === "fulfilled" ? cosmos.value : undefined,
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.allSettled([handles.redis?.stop(), handles.elasticsearch?.stop(), handles.cosmos?.stop()]);
      if (esDir?.temporary) await rm(esDir.path, { recursive: true, force: true });
    })());

  const failures = [redis, elasticsearch, cosmos].flatMap((result) =>
    result.status === "rejected" ? [result.reason as unknown] : [],
  );
  if (failures.length > 0) {
    // Nothing half-started may keep running: the caller gets no handle to stop it with.
    await stop();
    if (failures.length === 1) throw failures[0];
    const list = failures.map((error) => `- ${String(error)}`).join("\n");
    throw new AggregateError(failures, `the local stack failed to start:\n${list}`);
  }

  // Without a failure, every service not given has its handle.
  const emulator = handles.cosmos;
  return {
    redisUrl: given.redisUrl ?? handles.redis?.url ?? "",
    elasticsearchUrl: given.elasticsearchUrl ?? handles.elasticsearch?.url ?? "",
    cosmos: given.cosmos ?? {
      endpoint: emulator?.endpoint ?? "",
      key: emulator?.key ?? "",
      caFile: emulator?.caFile ?? null,
    },
    handles,
    stop,
  };
}

/** The stack's endpoints as the environment variables the rest of driftless reads. */
export function stackEnv(stack: Pick<Stack, "redisUrl" | "elasticsearchUrl" | "cosmos">): Record<string, string> {
  return {
    REDIS_URL: stack.redisUrl,
    ELASTICSEARCH_URL: stack.elasticsearchUrl,
    COSMOS_ENDPOINT: stack.cosmos.endpoint,
    COSMOS_KEY: stack.cosmos.key,
    ...(stack.cosmos.caFile === null ? {} : { COSMOS_CA_FILE: stack.cosmos.caFile }),
  };
}

/**
 * Elasticsearch's directory under `root`, unless it runs as `nobody` and `root` lies somewhere
 * `nobody` cannot enter (a clone under /root): then a temporary directory, removed on stop.
 */
async function elasticsearchDir(root: string): Promise<{ path: string; temporary: boolean }> {
  if (!isRoot() || unreachableAncestor(root, await unprivilegedAccount()) === null) {
    return { path: join(root, "elasticsearch"), temporary: false };
  }
  const path = await mkdtemp(join(tmpdir(), "driftless-es-"));
  await chmod(path, 0o755);
  return { path, temporary: true };
}
