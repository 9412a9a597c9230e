import { ValidationError } from "../core/errors.js";

export const DEFAULT_PREFIX = "driftless";

/**
 * Every Redis key of one source's queue. All share the hash tag `{source}`, so each script
 * touches one cluster slot (Redis Cluster and Azure Managed Redis safe).
 */
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
  /** Hash member → "<version>:<deleted>:<recorded at>": the newest change capture saw (freshness.ts). */
  readonly versions: string;
  /** Hash claim token → JSON list of the members it took: a resent claim answers the same (claim-8.lua). */
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
    throw new ValidationError("invalid_queue_prefix", `queue prefix ${JSON.stringify(prefix)} must be non-empty, without braces or spaces`);
  }
}

export function queueKeys(prefix: string, source: string): QueueKeys {
  checkPrefix(prefix);
  if (!SAFE.test(source)) {
    throw new ValidationError("invalid_source", `source name ${JSON.stringify(source)} must be non-empty, without braces or spaces`);
  }
  const base = `${prefix}:{${source}}`;
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
