/**
 * `make dev`: the local stack without Docker, a `demo` source with sample documents, and a
 * worker serving the API on http://localhost:7071/api, in the foreground until Ctrl-C.
 * Services given by URL in the environment (REDIS_URL, ELASTICSEARCH_URL, COSMOS_ENDPOINT +
 * COSMOS_KEY) are used instead of starting them.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadConfig } from "../shared/config/index.js";
import { DriftlessError } from "../shared/core/errors.js";
import { createCosmosClient } from "../shared/cosmos/client.js";
import { createLogger } from "../shared/telemetry/logger.js";
import { startWorker } from "../shared/worker/worker.js";
import { demoSource, seedDemo } from "./demo/demo-source.js";
import { stackEnv, startStack, writeLocalEnv, type Stack } from "./stack/stack.js";

/** Set once the stack runs, so a failure after it (the worker's port taken) stops it again. */
let started: Stack | undefined;

try {
  await main();
} catch (error) {
  // What stops `make dev` here is nearly always the machine (a missing redis-server, a port in
  // use, no JDK): the message says what to do, and a stack trace would only bury it.
  process.stderr.write(`driftless dev: ${describe(error)}\n`);
  await started?.stop();
  process.exit(1);
}

async function main(): Promise<void> {
  const root = resolve(process.env.DRIFTLESS_HOME ?? ".driftless");
  await mkdir(root, { recursive: true });
  // Elasticsearch runs as an unprivileged user when this runs as root; it must reach its folder.
  await chmod(root, 0o755);

  console.log("driftless dev: starting Redis, Elasticsearch and the Cosmos DB emulator …");
  const stack = await startStack({ dir: join(root, "stack") });
  started = stack;
  const endpoints = stackEnv(stack);
  const sourcesFile = join(root, "sources.json");
  await writeFile(sourcesFile, `${JSON.stringify([demoSource], null, 2)}\n`);

  // The mode that carries hard deletes: deleting a demo document in Cosmos takes it out of the
  // index within seconds. It reads from "now" only, so the seeded documents are enqueued below.
  const config = loadConfig({
    CAPTURE_MODE: "allVersionsAndDeletes",
    ...process.env,
    ...endpoints,
    DRIFTLESS_SOURCES: undefined,
    DRIFTLESS_SOURCES_FILE: sourcesFile,
  });
  const cosmos = createCosmosClient(config.cosmos);
  const keys = await seedDemo(cosmos, 25);
  cosmos.dispose();

  const logger = createLogger(config.logLevel);
  const worker = await startWorker(config, { logger });
  const demo = worker.services.sources.get(demoSource.name)!;
  await demo.queue.enqueue(keys, { lane: "live", now: Date.now() });

  await writeLocalEnv(join(root, "local.env"), {
    ...endpoints,
    DRIFTLESS_API_URL: worker.url,
    DRIFTLESS_SOURCES_FILE: sourcesFile,
    DEMO_DATABASE: demoSource.database,
    DEMO_CONTAINER: demoSource.container,
    DEMO_PARTITION_KEY_PATH: demoSource.partitionKeyPath,
    DEMO_INDEX: demoSource.index,
  });

  console.log(`
driftless is running.
  API            ${worker.url}
  status         ${worker.url}/status
  enqueue        POST ${worker.url}/sources/${demoSource.name}/enqueue  {"items":[{"id":"product-1","pk":"tenant-1"}]}
  search         ${stack.elasticsearchUrl}/${demoSource.index}/_search?q=title:lamp
  Cosmos DB      ${stack.cosmos.endpoint}  database "${demoSource.database}", container "${demoSource.container}" (partition key ${demoSource.partitionKeyPath})
  endpoints      ${join(root, "local.env")} (KEY=value; \`set -a; . ${join(root, "local.env")}; set +a\`)
${keys.length} sample documents were written and enqueued. Ctrl-C stops everything.
`);

  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, async () => {
      if (stopping) return;
      stopping = true;
      console.log("\ndriftless dev: stopping …");
      await worker.stop();
      await stack.stop();
      process.exit(0);
    });
  }
}

/** driftless's own errors (the stack's several at once too) by their message; anything else is a bug: with its stack. */
function describe(error: unknown): string {
  if (error instanceof DriftlessError) return error.message;
  if (error instanceof AggregateError && error.errors.every((inner) => inner instanceof DriftlessError))
    return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
