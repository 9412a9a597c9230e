import { enqueueChanges } from "../shared/capture/changes.js";
import {
  enqueueDependents,
  relatedContainers,
  relationCaptureName,
  type RelatedContainer,
} from "../shared/capture/relations.js";
import { relationTargets } from "../shared/runtime/relations.js";
import { app, CosmosDBv4ChangeFeedMode, type InvocationContext } from "./lib/azure.js";
import { captureTriggerOptions } from "./lib/capture-trigger.js";
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

/**
 * Cosmos DB change-feed trigger, one per container that sources' relations name: it enqueues, on
 * each such source, the documents that point at the changed related documents (their sync reads
 * the related document again). A lookup that fails (Elasticsearch or Cosmos down) throws, and the
 * unbounded retry keeps the checkpoint before the batch, as for a source's own capture.
 */
export function relatedCaptureHandler(database: string, container: string) {
  return invocationHandler(async (documents: unknown[], context: InvocationContext): Promise<void> => {
    const services = await getServices();
    const related = relatedContainers(services.config.sources).find(
      (candidate) => candidate.database === database && candidate.container === container,
    );
    if (!related) throw new Error(`no relation names the container ${database}/${container}`);
    const result = await inInvocationSpan(services.tracing, context, "datasource", async (_parent, span) => {
      span.setAttributes({ "driftless.related": `${database}/${container}`, "driftless.changes": documents.length });
      const enqueued = await enqueueDependents(relationTargets(services, related), documents, services.clock.now());
      span.setAttribute("driftless.keys.enqueued", enqueued.enqueued);
      return enqueued;
    });
    context.log(
      `capture of related ${database}/${container}: ${documents.length} changes, ${result.dependents} dependents, ${result.enqueued} enqueued`,
    );
  });
}

/** A Functions name for a related container's trigger: letters, digits, - and _ only, numbered to stay unique. */
function relatedFunctionName(related: RelatedContainer, i: number): string {
  return `capture-related-${i}-${related.container.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

const config = getConfig();
const register = (
  name: string,
  common: ReturnType<typeof captureTriggerOptions>,
  handler: ReturnType<typeof captureHandler>,
) => {
  if (config.capture.mode === "allVersionsAndDeletes") {
    app.cosmosDB(name, { ...common, changeFeedMode: CosmosDBv4ChangeFeedMode.AllVersionsAndDeletes, handler });
  } else {
    app.cosmosDB(name, { ...common, handler });
  }
};
for (const source of config.sources) {
  register(`capture-${source.name}`, captureTriggerOptions(config, source), captureHandler(source.name));
}
relatedContainers(config.sources).forEach((related, i) => {
  const options = captureTriggerOptions(config, { ...related, name: relationCaptureName(related) });
  register(relatedFunctionName(related, i), options, relatedCaptureHandler(related.database, related.container));
});
