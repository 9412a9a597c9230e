import type { Tracer } from "@opentelemetry/api";
import type { SourceConfig } from "../config/source.js";
import { sleep, type Clock } from "../core/clock.js";
import type { ContainerScanner } from "../cosmos/scan.js";
import type { RelatedReader, SourceReader, Sink, SourceQueue } from "../sync/ports.js";
import type { SearchClient as Client } from "../elastic/client.js";
import type { IndexScanner } from "../elastic/scan.js";
import type { Logger } from "../telemetry/logger.js";
import type { CounterName, JobStore, JobUpdate } from "./store.js";
import type { Job, JobState } from "./types.js";
import type { WriteTargets } from "../elastic/fan-out.js";

export interface JobOptions {
  /** Documents per Cosmos page of a reimport scan (REIMPORT_PAGE_SIZE). */
  readonly pageSize: number;
  /** Bulk requests one reimport page is split into, all in flight at once (REIMPORT_BULK_CONCURRENCY). */
  readonly bulkConcurrency: number;
  /** Index entries per page of a reconcile scan (RECONCILE_BATCH_SIZE). */
  readonly reconcileBatchSize: number;
  /** The largest share of the index one reconcile may delete (RECONCILE_MAX_DELETE_SHARE). @defaultValue 1 */
  readonly reconcileMaxDeleteShare?: number;
  /** How long a runner's lease lasts without renewal; a crashed runner's job is taken over after this (JOBS_LEASE_MS). */
  readonly leaseMs: number;
  /** Upper bound of one bulk request body (SYNC_BATCH_MAX_BYTES). */
  readonly batchMaxBytes: number;
  /** Consecutive failures of one step before the job fails. @defaultValue 20 */
  readonly maxFailures: number;
}

export interface JobSource {
  readonly config: SourceConfig;
  readonly queue: SourceQueue;
}

/** A source's search target, as the jobs use it. */
export interface JobSearch {
  readonly elastic: Client;
  /** The reimport scan's writes: external versions that never replace an equal one (bulk-sink.ts `versionType`). */
  readonly sink: Sink;
  readonly indexScanner: IndexScanner;
}

/** Everything a job runner needs, injected: the jobs code never builds an SDK client. */
export interface JobDeps {
  readonly store: JobStore;
  readonly targets: WriteTargets;
  readonly sources: ReadonlyMap<string, JobSource>;
  /** The client, sink and index scanner of the source's search target: a job never touches another engine. */
  search(source: SourceConfig): JobSearch;
  scanner(source: SourceConfig): ContainerScanner;
  reader(source: SourceConfig): SourceReader;
  /** Reads the related documents of a source's relations (shared/sync/relations.ts). */
  related(source: SourceConfig): RelatedReader;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: JobOptions;
  /** Opens a span per page (runner.ts). @defaultValue the no-op tracer */
  readonly tracer?: Tracer;
}

/** The runner lost its lease (another runner took the job over): stop without touching the job. */
export class LeaseLostError extends Error {
  constructor() {
    super("the job's lease passed to another runner");
    this.name = "LeaseLostError";
  }
}

/** One chunk of work on one job by one lease holder. */
export class ChunkContext {
  job: Job;
  pages = 0;

  constructor(
    readonly deps: JobDeps,
    job: Job,
    readonly source: JobSource,
    readonly token: string,
    readonly deadline: number,
    readonly signal: AbortSignal,
    readonly maxPages: number,
  ) {
    this.job = job;
  }

  /** The job's source's search target. */
  get search(): JobSearch {
    return this.deps.search(this.source.config);
  }

  get now(): number {
    return this.deps.clock.now();
  }

  /** Whether this chunk may start another step: budget, page limit and stop signal allow it. */
  canContinue(): boolean {
    return !this.signal.aborted && this.now < this.deadline && this.pages < this.maxPages;
  }

  /** Records progress atomically with the lease check; throws LeaseLostError when the lease is gone. */
  async commit(
    update: JobUpdate,
    increments: Partial<Record<CounterName, number>> = {},
    expectState?: JobState,
  ): Promise<void> {
    // Entering a phase stamps when, so the job's view can say how long each one took.
    const entering = update.phase !== undefined && update.phase !== this.job.phase;
    const result = await this.deps.store.commit(this.job, this.token, this.deps.options.leaseMs, {
      increments,
      update: entering ? { ...update, phaseStartedAt: this.now } : update,
      now: this.now,
      ...(expectState ? { expectState } : {}),
    });
    if (result === "lease_lost") throw new LeaseLostError();
    if (result !== "ok") throw new Error(`job ${this.job.id} could not be updated (${result})`);
    await this.reload();
  }

  async reload(): Promise<Job> {
    const fresh = await this.deps.store.get(this.job.id);
    if (fresh) this.job = fresh;
    return this.job;
  }

  async finish(state: "succeeded" | "failed" | "cancelled", lastError?: string): Promise<void> {
    if (!(await this.deps.store.finish(this.job, this.token, state, this.now, lastError))) throw new LeaseLostError();
    await this.reload();
  }

  /** Sleeps, but never past the chunk's deadline or its stop signal. */
  async pause(ms: number): Promise<void> {
    await sleep(Math.max(0, Math.min(ms, this.deadline - this.now)), this.signal);
  }

  get logger(): Logger {
    return this.deps.logger;
  }
}
