import type { CosmosClient } from "@azure/cosmos";
import type { Tracer } from "@opentelemetry/api";
import type { SourceConfig } from "../config/source.js";
import type { Clock } from "../core/clock.js";
import { createCosmosReader } from "../cosmos/reader.js";
import { createRelatedReader } from "../cosmos/related.js";
import { createContainerScanner, type ContainerScanner } from "../cosmos/scan.js";
import type { WriteTargets } from "../elastic/fan-out.js";
import { createBulkSink, type SearchClient as Client } from "../elastic/index.js";
import { createIndexScanner } from "../elastic/scan.js";
import type { JobDeps, JobOptions, JobSearch, JobSource } from "../jobs/context.js";
import { createJobStore } from "../jobs/store.js";
import type { RedisClient } from "../redis/client.js";
import type { RelatedReader, SourceReader } from "../sync/ports.js";
import type { Logger } from "../telemetry/logger.js";

export interface JobsSetup {
  readonly redis: RedisClient;
  readonly prefix: string;
  /** The client of a source's search target (shared/elastic/targets.ts). */
  readonly search: (source: SourceConfig) => Client;
  readonly cosmos: CosmosClient;
  readonly sources: ReadonlyMap<string, JobSource>;
  readonly targets: WriteTargets;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: Omit<JobOptions, "maxFailures"> & Partial<Pick<JobOptions, "maxFailures">>;
  /** Opens a span per job page. @defaultValue the no-op tracer */
  readonly tracer?: Tracer;
}

/**
 * The jobs' adapters, built from the root's clients: wiring, so it sits with the composition
 * root, and shared/jobs sees only JobDeps.
 */
export function jobDeps(setup: JobsSetup): JobDeps {
  const { sources, clock } = setup;
  const store = createJobStore(setup.redis, setup.prefix);
  const scanners = new Map<string, ContainerScanner>();
  const readers = new Map<string, SourceReader>();
  // One sink and scanner per client, however many sources share a target.
  const engines = new Map<Client, JobSearch>();
  const relatedReaders = new Map<string, RelatedReader>();
  const deps: JobDeps = {
    store,
    targets: setup.targets,
    sources,
    search: (source: SourceConfig) => {
      const client = setup.search(source);
      return cached(engines, client, () => ({
        elastic: client,
        // A scan copy must never replace a live write of the same second: `external`, not `external_gte`.
        sink: createBulkSink(client, { versionType: "external" }),
        indexScanner: createIndexScanner(client),
      }));
    },
    scanner: (source: SourceConfig) =>
      cached(scanners, source.name, () => createContainerScanner(setup.cosmos, source)),
    reader: (source: SourceConfig) => cached(readers, source.name, () => createCosmosReader(setup.cosmos, source)),
    related: (source: SourceConfig) =>
      cached(relatedReaders, source.name, () => createRelatedReader(setup.cosmos, source.database)),
    clock,
    logger: setup.logger.child({ part: "jobs" }),
    // 20 failures in a row with backoff growing to 30 s: a job outlives an outage of about eight minutes.
    options: { maxFailures: 20, ...setup.options },
    ...(setup.tracer ? { tracer: setup.tracer } : {}),
  };
  return deps;
}

function cached<K, T>(map: Map<K, T>, key: K, build: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = build();
    map.set(key, value);
  }
  return value;
}
