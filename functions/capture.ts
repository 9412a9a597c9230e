import { enqueueChanges } from "../shared/capture/changes.js";
import { app, CosmosDBv4ChangeFeedMode, type InvocationContext } from "./lib/azure.js";
import { getConfig, getServices } from "./lib/services.js";
import { invocationHandler } from "./lib/invocation.js";
import { inInvocationSpan } from "./lib/tracing.js";

/**
 * Cosmos DB change-feed trigger, one per source. It only enqueues keys: the sync reads the
 * current document later, so a change delivered twice converges to the same result. Throwing on
 * failure, with an unbounded retry policy, keeps the lease checkpoint from moving past a batch
 * whose keys did not reach the queue.
 */
export function captureHandler(sourceName: string) {
  return invocationHandler(async (documents: unknown[], context: InvocationContext): Promise<void> => {
    const services = await getServices();
    const source = services.sources.get(sourceName);
    if (!source) throw new Error(`unknown source ${sourceName}`);
    // No flush: under load the trigger fires many times a second; the batch processor sends in the background.
    const result = await inInvocationSpan(services.tracing, context, "datasource", async (_parent, span) => {
      span.setAttributes({ "driftless.source": sourceName, "driftless.changes": documents.length });
      const enqueued = await enqueueChanges(source.config, source.queue, documents, services.clock.now());
      span.setAttribute("driftless.keys.enqueued", enqueued.enqueued);
      return enqueued;
    });
    context.log(
      `capture ${sourceName}: ${documents.length} changes, ${result.enqueued} enqueued, ${result.duplicates} duplicates` +
        (result.invalid ? `, ${result.invalid} dead-lettered (unusable partition key)` : ""),
    );
  });
}

const config = getConfig();
for (const source of config.sources) {
  const common = {
    connection: config.cosmos.triggerConnection,
    databaseName: source.database,
    containerName: source.container,
    leaseContainerName: config.cosmos.leaseContainer,
    // One lease container serves every source; the prefix keeps their leases apart.
    leaseContainerPrefix: `${source.name}-`,
    createLeaseContainerIfNotExists: config.cosmos.createLeaseContainer,
    startFromBeginning: config.capture.startFrom.kind === "beginning",
    ...(config.capture.startFrom.kind === "time" ? { startFromTime: config.capture.startFrom.at.toISOString() } : {}),
    maxItemsPerInvocation: config.capture.maxItems,
    retry: {
      strategy: "exponentialBackoff" as const,
      maxRetryCount: -1,
      minimumInterval: { seconds: 1 },
      maximumInterval: { minutes: 5 },
    },
  };
  if (config.capture.mode === "allVersionsAndDeletes") {
    app.cosmosDB(`capture-${source.name}`, {
      ...common,
      changeFeedMode: CosmosDBv4ChangeFeedMode.AllVersionsAndDeletes,
      handler: captureHandler(source.name),
    });
  } else {
    app.cosmosDB(`capture-${source.name}`, { ...common, handler: captureHandler(source.name) });
  }
}
