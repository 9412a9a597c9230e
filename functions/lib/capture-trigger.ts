import type { Config } from "../../shared/config/index.js";
import type { SourceConfig } from "../../shared/config/source.js";

/**
 * The Cosmos DB trigger's options for one source, or one container that relations name (all but
 * the handler and the change-feed mode), from validated config. Apart from capture.ts, which
 * registers at import, so they can be checked without a host. `name` keeps its leases apart from
 * the others' in the one lease container.
 */
export function captureTriggerOptions(config: Config, source: Pick<SourceConfig, "name" | "database" | "container">) {
  return {
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
    // The wait before polling a drained partition again; the host's default (5 s) would be most of
    // a change's wait to be searchable.
    feedPollDelay: config.capture.feedPollDelayMs,
    retry: {
      strategy: "exponentialBackoff" as const,
      maxRetryCount: -1,
      minimumInterval: { seconds: 1 },
      maximumInterval: { minutes: 5 },
    },
  };
}
