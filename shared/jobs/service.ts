import type { CosmosClient } from "@azure/cosmos";
import type { Tracer } from "@opentelemetry/api";
import type { Clock } from "../core/clock.js";
import { NotFoundError, ValidationError } from "../core/errors.js";
import { createCosmosReader, type SourceReader } from "../cosmos/reader.js";
import { createContainerScanner, type ContainerScanner } from "../cosmos/scan.js";
import { createBulkSink, type Client } from "../elastic/index.js";
import { createIndexScanner } from "../elastic/scan.js";
import type { SourceConfig } from "../config/source.js";
import type { RedisClient } from "../redis/client.js";
import type { Logger } from "../telemetry/logger.js";
import type { JobDeps, JobOptions, JobSource } from "./context.js";
import { runJobChunk } from "./runner.js";
import { createJobStore, isTerminal } from "./store.js";
import { JOB_KINDS, type Job, type JobPhase, type JobsService, type JobView } from "./types.js";
import type { WriteTargets } from "./write-targets.js";

export interface JobsSetup {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly elastic: Client;
  readonly cosmos: CosmosClient;
  readonly sources: ReadonlyMap<string, JobSource>;
  readonly targets: WriteTargets;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: Omit<JobOptions, "maxFailures"> & Partial<Pick<JobOptions, "maxFailures">>;
  /** Opens a span per job page. @defaultValue the no-op tracer */
  readonly tracer?: Tracer;
}

/** The jobs service over Redis, Cosmos and Elasticsearch; the composition root builds one. */
export function createJobs(setup: JobsSetup): JobsService & { readonly deps: JobDeps } {
  const { sources, clock } = setup;
  const store = createJobStore(setup.redis, setup.prefix);
  const scanners = new Map<string, ContainerScanner>();
  const readers = new Map<string, SourceReader>();
  const deps: JobDeps = {
    store,
    targets: setup.targets,
    sources,
    elastic: setup.elastic,
    // A scan copy must never replace a live write of the same second: `external`, not `external_gte`.
    sink: createBulkSink(setup.elastic, { versionType: "external" }),
    scanner: (source: SourceConfig) => cached(scanners, source.name, () => createContainerScanner(setup.cosmos, source)),
    reader: (source: SourceConfig) => cached(readers, source.name, () => createCosmosReader(setup.cosmos, source)),
    indexScanner: createIndexScanner(setup.elastic),
    clock,
    logger: setup.logger.child({ part: "jobs" }),
    // 20 failures in a row with backoff growing to 30 s: a job outlives an outage of about eight minutes.
    options: { maxFailures: 20, ...setup.options },
    ...(setup.tracer ? { tracer: setup.tracer } : {}),
  };

  const known = async (jobId: string): Promise<Job> => {
    const job = await store.get(jobId);
    if (!job || !sources.has(job.source)) throw new NotFoundError("job_not_found", `no job "${jobId.slice(0, 120)}"`);
    return job;
  };

  const queuedListeners = new Set<() => void>();
  const service: JobsService & { readonly deps: JobDeps } = {
    onQueued(listener) {
      queuedListeners.add(listener);
      return () => queuedListeners.delete(listener);
    },
    deps,

    async start(kind, sourceName, options = {}) {
      if (!sources.has(sourceName)) throw new NotFoundError("unknown_source", `no source named "${sourceName.slice(0, 100)}"`);
      const mode = kind === "reimport" ? (options.mode ?? "in-place") : undefined;
      const result = await store.create(kind, sourceName, clock.now(), mode);
      if (!result.created) {
        throw new ValidationError("job_active", `source "${sourceName}" already has an active ${kind} job: ${result.activeId}`, 409);
      }
      deps.logger.info({ job: result.job.id, source: sourceName, kind, mode }, "job queued");
      for (const listener of queuedListeners) listener();
      return result.job;
    },

    async get(jobId) {
      const job = await store.get(jobId);
      return job && sources.has(job.source) ? job : undefined;
    },

    async list(sourceName) {
      const names = sourceName ? [sourceName] : [...sources.keys()];
      const lists = await Promise.all(names.map((name) => store.list(name)));
      return lists.flat().sort((a, b) => b.createdAt - a.createdAt);
    },

    async cancel(jobId) {
      const job = await known(jobId);
      const outcome = await store.cancel(job, clock.now());
      if (outcome === "missing") throw new NotFoundError("job_not_found", `no job "${jobId.slice(0, 120)}"`);
      if (outcome !== "now" && outcome !== "requested") {
        throw new ValidationError("job_finished", `job ${jobId} has ended already (${outcome})`, 409);
      }
      return known(jobId);
    },

    runChunk: (jobId, budgetMs, options) => runJobChunk(deps, jobId, budgetMs, options),

    async runPending(budgetMs, options = {}) {
      const ids = await service.activeJobIds();
      const chunkOptions = { ...(options.signal ? { signal: options.signal } : {}), ...(options.parent ? { parent: options.parent } : {}) };
      return Promise.all(ids.map((id) => runJobChunk(deps, id, budgetMs, chunkOptions)));
    },

    async activeJobIds() {
      const ids: string[] = [];
      for (const name of sources.keys()) {
        for (const kind of JOB_KINDS) {
          const id = await store.active(name, kind);
          if (!id) continue;
          const job = await store.get(id);
          // A slot pointing at an expired or ended job is stale: free it.
          if (!job || isTerminal(job.state)) await store.clearActive(name, kind, id);
          else ids.push(id);
        }
      }
      return ids;
    },

    toView,
  };
  return service;
}

export function toView(job: Job): JobView {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    jobId: job.id,
    kind: job.kind,
    source: job.source,
    state: job.state,
    ...(job.mode ? { mode: job.mode } : {}),
    scanned: job.scanned,
    indexed: job.indexed,
    enqueued: job.enqueued,
    missing: job.missing,
    errors: job.errors,
    pages: job.pages,
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    phaseMs: phaseDurations(job),
    cancelRequested: job.cancelRequested,
    ...(job.targetIndex ? { targetIndex: job.targetIndex } : {}),
    lastError: job.lastError ?? null,
  };
}

const PHASE_ORDER: readonly JobPhase[] = ["prepare", "scan", "swap"];

/** Each reached phase runs until the next reached one starts, the last until the job's end. */
export function phaseDurations(job: Job): Partial<Record<JobPhase, number>> {
  if (job.startedAt === undefined) return {};
  const starts = PHASE_ORDER.map((phase) => [phase, phase === "prepare" ? job.startedAt : job.phaseStartedAt[phase]] as const).filter(
    (entry): entry is readonly [JobPhase, number] => entry[1] !== undefined,
  );
  const durations: Partial<Record<JobPhase, number>> = {};
  starts.forEach(([phase, start], i) => {
    const end = i + 1 < starts.length ? starts[i + 1]![1] : job.finishedAt;
    if (end !== undefined) durations[phase] = Math.max(0, end - start);
  });
  return durations;
}

function cached<T>(map: Map<string, T>, key: string, build: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = build();
    map.set(key, value);
  }
  return value;
}
