import { captureKeys } from "../shared/capture/capture-keys.js";
import { app, type InvocationContext } from "./lib/azure.js";
import { getConfig, getServices } from "./lib/services.js";

/**
 * Cosmos DB change-feed trigger, one per source. It only enqueues keys: the sync reads the
 * current document later, so a change delivered twice converges to the same result. Throwing on
 * failure, with an unbounded retry policy, keeps the lease checkpoint from moving past a batch
 * whose keys did not reach the queue.
 */
export function captureHandler(sourceName: string) {
  return async (documents: unknown[], context: InvocationContext): Promise<void> => {
    const services = await getServices();
    const source = services.sources.get(sourceName);
    if (!source) throw new Error(`unknown source ${sourceName}`);
    const result = await captureKeys(source.config, source.queue, documents, services.clock.now());
    context.log(`capture ${sourceName}: ${documents.length} changes, ${result.enqueued} enqueued, ${result.duplicates} duplicates`);
  };
}

const config = getConfig();
for (const source of config.sources) {
  app.cosmosDB(`capture-${source.name}`, {
    connection: config.cosmos.triggerConnection,
    databaseName: source.database,
    containerName: source.container,
    leaseContainerName: config.cosmos.leaseContainer,
    leaseContainerPrefix: `${source.name}-`,
    createLeaseContainerIfNotExists: config.cosmos.createLeaseContainer,
    retry: {
      strategy: "exponentialBackoff",
      maxRetryCount: -1,
      minimumInterval: { seconds: 1 },
      maximumInterval: { minutes: 5 },
    },
    handler: captureHandler(source.name),
  });
}
