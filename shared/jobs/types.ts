import type { Context } from "@opentelemetry/api";

/**
 * Long-running jobs over a whole source: a reimport scans the Cosmos container into the index, a
 * reconcile scans the index for documents Cosmos no longer has. Both run in chunks that save a
 * continuation, so any runner (worker mode's job loop, the Functions jobs timer, the CLI) can pick
 * a job up where the last one stopped.
 */
export type JobKind = "reimport" | "reconcile";
export const JOB_KINDS: readonly JobKind[] = ["reimport", "reconcile"];

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(["succeeded", "failed", "cancelled"]);

/** `in-place` writes into the live index; `rebuild` fills a new index version and swaps the alias to it. */
export type ReimportMode = "in-place" | "rebuild";

/**
 * Where a job is within its kind's steps. A reimport: `prepare` (rebuild only: create the new
 * index) → `scan` → `swap` (rebuild only). A reconcile: `prepare` (open a point in time) → `scan`.
 */
export type JobPhase = "prepare" | "scan" | "swap";

export interface JobCounters {
  /** Documents read: from Cosmos (reimport) or from the index (reconcile). */
  readonly scanned: number;
  /** Reimport: documents written to the index (a newer version already there counts too). */
  readonly indexed: number;
  /** Keys handed to the queue's bulk lane: failed writes (reimport), keys to delete (reconcile). */
  readonly enqueued: number;
  /** Reconcile: indexed documents Cosmos no longer has (or has soft-deleted). */
  readonly missing: number;
  /** Failures met on the way (a page that had to be read again, an unreadable key, …). */
  readonly errors: number;
  /** Pages settled. */
  readonly pages: number;
}

export interface Job extends JobCounters {
  readonly id: string;
  readonly kind: JobKind;
  readonly source: string;
  readonly state: JobState;
  readonly phase: JobPhase;
  readonly mode: ReimportMode | undefined;
  readonly createdAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly updatedAt: number | undefined;
  /** When the job entered each phase after the first (`prepare` begins at startedAt). */
  readonly phaseStartedAt: Readonly<Partial<Record<Exclude<JobPhase, "prepare">, number>>>;
  /** The saved position: a Cosmos continuation token, or the reconcile's point in time and sort values. */
  readonly continuation: string | undefined;
  /** Rebuild: the new index version being filled. */
  readonly targetIndex: string | undefined;
  /** Rebuild: the alias on the new index that live writes and the scan go through (see shared/elastic/fan-out.ts). */
  readonly targetAlias: string | undefined;
  /** Rebuild: the indices the alias pointed at before the swap, deleted once it is done. */
  readonly previousIndices: readonly string[];
  readonly cancelRequested: boolean;
  /** Consecutive failed attempts at the current page; the job fails after too many. */
  readonly failures: number;
  readonly lastError: string | undefined;
}

/** What the HTTP API and the CLI show of a job. */
export interface JobView extends JobCounters {
  readonly jobId: string;
  readonly kind: JobKind;
  readonly source: string;
  readonly state: JobState;
  readonly mode?: ReimportMode;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /**
   * Milliseconds spent in each phase that has ended (the one in progress is left out): where a
   * job's time went, e.g. a rebuild's index creation, scan, and refresh and swap.
   */
  readonly phaseMs: Readonly<Partial<Record<JobPhase, number>>>;
  readonly cancelRequested: boolean;
  /** Rebuild: the new index version. */
  readonly targetIndex?: string;
  readonly lastError: string | null;
}

export interface StartOptions {
  readonly mode?: ReimportMode;
}

/** What one call of runJobChunk did. */
export interface ChunkResult {
  /** The job after the chunk; undefined when there is no such job. */
  readonly job: Job | undefined;
  /** False when another runner holds the job's lease (or the job had ended already). */
  readonly ran: boolean;
}

export interface ChunkOptions {
  readonly signal?: AbortSignal;
  /** Stop after this many pages (tests, and callers that want small steps). */
  readonly maxPages?: number;
  /** The trace context the page spans are children of (a timer invocation's); without it each page is a trace of its own. */
  readonly parent?: Context;
}

/** The jobs as the API, the CLI and the runners use them. */
export interface JobsService {
  /** Creates a queued job; a ValidationError (409 `job_active`) when one of the same kind is active for the source. */
  start(kind: JobKind, source: string, options?: StartOptions): Promise<Job>;
  /** The job, or undefined for an id that is malformed, of an unknown source, or expired. */
  get(jobId: string): Promise<Job | undefined>;
  /** Recent jobs of a source (or of every source), newest first. */
  list(source?: string): Promise<Job[]>;
  /**
   * Cancels a queued job at once, or asks the runner of a running one to stop at its next page
   * (a cancelled rebuild deletes its new index). NotFoundError / 409 `job_finished`.
   */
  cancel(jobId: string): Promise<Job>;
  /** One chunk of work on one job, within the budget; see runner.ts. */
  runChunk(jobId: string, budgetMs: number, options?: ChunkOptions): Promise<ChunkResult>;
  /** One chunk of every active job of every source, in parallel, within the budget (the timer's job). */
  runPending(budgetMs: number, options?: { signal?: AbortSignal; parent?: Context }): Promise<ChunkResult[]>;
  /** The ids of the active (queued or running) jobs of every source. */
  activeJobIds(): Promise<string[]>;
  /**
   * Calls `listener` whenever this process queues a job, so a job loop in the same process starts
   * it at once instead of at its next poll. Returns the unsubscribe function.
   */
  onQueued(listener: () => void): () => void;
  toView(job: Job): JobView;
}
