import { ValidationError } from "../core/errors.js";
import type { JobKind } from "../jobs/types.js";

/*
 * Every Redis key driftless uses, built here and nowhere else: the queue's, the jobs', the change
 * capture's and the dead-letter mirror's. All keys of one source start with `sourceBase`, so they
 * share the hash tag `{source}` and each script touches one cluster slot (Redis Cluster and Azure
 * Managed Redis safe).
 */

export const DEFAULT_PREFIX = "driftless";

/** Every Redis key of one source's queue. */
export interface QueueKeys {
  /** Pending, sorted set member → due time (ms): change-feed and producer keys. */
  readonly live: string;
  /** Pending, sorted set member → due time (ms): reimport and reconcile keys. */
  readonly bulk: string;
  /** In flight, sorted set member → lease deadline (ms). */
  readonly inflight: string;
  /** Hash member → token of the claim holding it. */
  readonly lease: string;
  /** Hash member → lane the in-flight key was claimed from. */
  readonly lane: string;
  /** Hash member → failed attempts so far (absent for a fresh key). */
  readonly attempts: string;
  /** Hash member → lane: re-enqueued while in flight, to be processed again once settled. */
  readonly dirty: string;
  /** Hash member → last error of a key that is failing. */
  readonly errors: string;
  /** Dead letters, sorted set member → time dead-lettered (ms). */
  readonly dead: string;
  /** Hash member → JSON {reason, attempts, lastError, deadLetteredAt, lane}. */
  readonly deadinfo: string;
  /** Dead letters, sorted set member → sequence number of its dead-lettering (the mirror's order, not a clock's). */
  readonly deadseq: string;
  /** Hash: lastSyncAt, deadLetterSequence (the last number given to a dead-lettering). */
  readonly meta: string;
  /** Hash member → "<version>:<deleted>:<recorded at>": the newest change capture saw (shared/sync/freshness.ts). */
  readonly versions: string;
  /** Hash claim token → JSON list of the members it took: a resent claim answers the same (claim-10.lua). */
  readonly claims: string;
  /** Sorted set claim token → its lease deadline (ms), when `claims` forgets it. */
  readonly claimexpiry: string;
  /** Hash member → "<cap>:<solo>:<at>": bulk requests with this key timed out (recordTimeouts-3.lua). */
  readonly timeouts: string;
}

export type QueueKeyName = keyof QueueKeys;

// A brace in either part would move or split the hash tag and scatter a source over slots.
const SAFE = /^[^{}\s]+$/;

export function checkPrefix(prefix: string): void {
  if (!SAFE.test(prefix)) {
    throw new ValidationError(
      "invalid_queue_prefix",
      `queue prefix ${JSON.stringify(prefix)} must be non-empty, without braces or spaces`,
    );
  }
}

/** `<prefix>:{<source>}`, the start of every key of a source; refuses names that would break the hash tag. */
export function sourceBase(prefix: string, source: string): string {
  checkPrefix(prefix);
  if (!SAFE.test(source)) {
    throw new ValidationError(
      "invalid_source",
      `source name ${JSON.stringify(source)} must be non-empty, without braces or spaces`,
    );
  }
  return `${prefix}:{${source}}`;
}

export function queueKeys(prefix: string, source: string): QueueKeys {
  const base = sourceBase(prefix, source);
  return Object.freeze({
    live: `${base}:live`,
    bulk: `${base}:bulk`,
    inflight: `${base}:inflight`,
    lease: `${base}:lease`,
    lane: `${base}:lane`,
    attempts: `${base}:attempts`,
    dirty: `${base}:dirty`,
    errors: `${base}:errors`,
    dead: `${base}:dead`,
    deadinfo: `${base}:deadinfo`,
    deadseq: `${base}:deadseq`,
    meta: `${base}:meta`,
    versions: `${base}:versions`,
    claims: `${base}:claims`,
    claimexpiry: `${base}:claimexpiry`,
    timeouts: `${base}:timeouts`,
  });
}

/**
 * Every Redis key of one source's jobs. They share the queue's hash tag `{source}`, so each job
 * script touches one cluster slot.
 */
export interface JobKeys {
  /** Hash: the job's fields (see shared/jobs/store.ts). */
  job(jobId: string): string;
  /** Sorted set: job id → creation time, for listing. */
  readonly list: string;
  /** String: the id of the active (queued or running) job of this kind; one per source and kind. */
  active(kind: JobKind): string;
  /** String with a TTL: the token of the runner working on this kind's active job. */
  lease(kind: JobKind): string;
  /** String: the extra alias live writes go to while a rebuild runs (shared/jobs/write-targets.ts). */
  readonly writeTarget: string;
}

export function jobKeys(prefix: string, source: string): JobKeys {
  const base = `${sourceBase(prefix, source)}:jobs`;
  return Object.freeze({
    job: (jobId: string) => `${base}:job:${jobId}`,
    list: `${base}:list`,
    active: (kind: JobKind) => `${base}:active:${kind}`,
    lease: (kind: JobKind) => `${base}:lease:${kind}`,
    writeTarget: `${base}:write-target`,
  });
}

/** Where a source's change-feed reader keeps its lease and its continuation (shared/capture/capture-store.ts). */
export interface CaptureKeys {
  /** String with a TTL: the token of the reader holding the source. */
  readonly lease: string;
  /** String: the composite continuation of the whole container. */
  readonly continuation: string;
  /** Hash feed range → continuation, as versions before the whole-container reader kept them. */
  readonly checkpoints: string;
}

export function captureKeys(prefix: string, source: string): CaptureKeys {
  const base = sourceBase(prefix, source);
  return Object.freeze({
    lease: `${base}:capture:lease`,
    continuation: `${base}:capture:continuation`,
    checkpoints: `${base}:capture:checkpoints`,
  });
}

/**
 * String: the sequence number of the last dead letter the mirror sent (shared/queue/mirror-cursor.ts).
 * Its own key: the one before it (`…:mirrored`) held a time, which means nothing as a sequence number.
 */
export function mirrorCursorKey(prefix: string, source: string): string {
  return `${queueKeys(prefix, source).meta}:mirroredSequence`;
}

/** The wake-up's keys (shared/dispatch/wake.ts, lua/wake-2.lua): plain strings with a TTL. */
export interface WakeKeys {
  /** Set (NX, with the debounce as TTL) by whoever sends a wake ticket, so one goes per window. */
  readonly sent: string;
  /** Sorted set drain id → its mark's deadline (ms): the ticket drains running, so enqueues send none meanwhile. */
  readonly draining: string;
}

export function wakeKeys(prefix: string, source: string): WakeKeys {
  const base = sourceBase(prefix, source);
  return Object.freeze({ sent: `${base}:wake:sent`, draining: `${base}:wake:draining` });
}
