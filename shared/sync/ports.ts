import type { DocKey } from "../core/keys.js";

/*
 * The ports: what the sync engine (and capture, jobs, the API) needs from the queue, from Cosmos DB
 * and from Elasticsearch, with the values they exchange. They are declared here, beside the core
 * that uses them; the adapters implement them (shared/queue/source-queue.ts, shared/cosmos/reader.ts,
 * shared/elastic/bulk-sink.ts), and the decorators that wrap them (circuits, metrics, coalescing,
 * replica waits, a rebuild's extra write target) are stacked in one place:
 * shared/runtime/decorators.ts.
 */

// ---- The queue (shared/queue) ----

/**
 * `live` carries change-feed and producer keys; `bulk` carries reimport and reconcile keys.
 * Claims take from `live` first, keeping a small share for `bulk` so it never starves.
 */
export type Lane = "live" | "bulk";

export interface EnqueueResult {
  /** Keys newly made pending, or marked dirty because they were in flight. */
  readonly enqueued: number;
  /** Keys that were already pending (their earliest due time is kept) or already dirty. */
  readonly duplicates: number;
  /** Per key, in the order given: whether it was counted a duplicate. */
  readonly isDuplicate: readonly boolean[];
}

export interface ClaimedKey {
  readonly key: DocKey;
  /** The encoded key as stored in Redis; pass it back to settle the claim. */
  readonly member: string;
  /** Failed attempts before this claim (0 for a fresh key). */
  readonly attempts: number;
  readonly lane: Lane;
  /** The version capture recorded for the key, if any (recordVersions), read with the claim. */
  readonly recorded?: RecordedVersion;
  /** The key's bulk timeout record, if any (recordTimeouts), read with the claim. */
  readonly timeout?: TimeoutRecord;
}

export interface Claim {
  /** The lease token: settling calls must present it, so a holder whose lease expired cannot settle. */
  readonly token: string;
  readonly leaseDeadline: number;
  readonly items: readonly ClaimedKey[];
}

export interface Failure {
  readonly member: string;
  readonly error: string;
  /** Why a dead-lettered key can never succeed as it is, for people reading dead letters. @defaultValue "rejected" */
  readonly reason?: string;
}

export interface SettleResult {
  /** Keys settled as asked. */
  readonly settled: number;
  /** Keys whose lease was no longer held by this token (expired and reaped, or settled already). */
  readonly stale: number;
}

export interface RetryResult extends SettleResult {
  /** Of the settled keys, those that reached the attempt limit and were dead-lettered. */
  readonly deadLettered: number;
}

export interface QueueStats {
  readonly pending: number;
  readonly pendingLive: number;
  readonly pendingBulk: number;
  /** Pending keys whose due time has come (not waiting out a retry backoff). */
  readonly due: number;
  readonly inflight: number;
  readonly dirty: number;
  readonly deadLettered: number;
  /** Age of the oldest pending key whose due time has passed, 0 when none is due. */
  readonly oldestPendingAgeMs: number;
  readonly lastSyncAt: number | null;
}

export interface DeadLetter {
  readonly key: DocKey;
  readonly member: string;
  readonly reason: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly deadLetteredAt: number;
  readonly lane: Lane;
}

/** The newest change capture saw of a key (shared/sync/freshness.ts). */
export interface RecordedVersion {
  /** Cosmos time of the change, seconds: the document's `_ts`, or a delete's `crts`. */
  readonly version: number;
  /** The change was a delete. */
  readonly deleted: boolean;
  /** When it was recorded (ms). */
  readonly recordedAt: number;
  /** The changed document's `_etag`: tells two versions of one second apart. Absent for a delete. */
  readonly etag?: string;
  /** The stored record as read, to clear exactly it once the sync has caught up. */
  readonly raw: string;
}

/** A dead letter with the number Redis gave its dead-lettering: numbers only grow, whatever the workers' clocks say. */
export interface NumberedDeadLetter {
  readonly sequence: number;
  readonly letter: DeadLetter;
}

/** Bulk requests with a key in them timed out (shared/sync/bisect.ts). */
export interface TimeoutRecord {
  /** The most keys to send in one request with this one. */
  readonly cap: number;
  /** Times it timed out alone in a request (counted as recordTimeouts-3.lua says). */
  readonly solo: number;
  /** When it last timed out (ms). */
  readonly at: number;
}

/** The reliable per-source queue of DESIGN.md. Every method is one atomic Lua script. */
export interface SourceQueue {
  readonly source: string;
  enqueue(keys: readonly DocKey[], options: { lane: Lane; now: number; delayMs?: number }): Promise<EnqueueResult>;
  claim(options: { max: number; leaseMs: number; now: number; bulkShare?: number }): Promise<Claim>;
  ack(token: string, members: readonly string[], now: number): Promise<SettleResult>;
  retry(token: string, failures: readonly Failure[], now: number): Promise<RetryResult>;
  deadLetter(token: string, failures: readonly Failure[], now: number): Promise<SettleResult>;
  release(token: string, members: readonly string[], now: number): Promise<SettleResult>;
  /**
   * Dead-letters keys that cannot be processed at all (capture's unusable partition keys), unless
   * already dead-lettered, pending or in flight; returns how many were dead-lettered now.
   */
  reject(failures: readonly Failure[], options: { lane: Lane; now: number }): Promise<number>;
  /** Extends the leases this token holds, for work that runs longer than expected. */
  extend(token: string, members: readonly string[], leaseMs: number, now: number): Promise<SettleResult>;
  /** Expired leases back to pending; each counts as a failed attempt (a key that kills its worker must not loop forever). */
  reap(now: number, max?: number): Promise<{ requeued: number; deadLettered: number }>;
  stats(now: number): Promise<QueueStats>;
  listDeadLetters(options?: { offset?: number; limit?: number }): Promise<DeadLetter[]>;
  /** Dead letters numbered above `sequence`, lowest first (the dead-letter mirror's cursor). @defaultValue limit 500 */
  listDeadLettersAfter(sequence: number, limit?: number): Promise<NumberedDeadLetter[]>;
  /** Dead letters back to pending with attempts reset; all of them, or only the given members. */
  redrive(now: number, members?: readonly string[]): Promise<number>;
  purgeDeadLetters(members?: readonly string[]): Promise<number>;
  markSynced(now: number): Promise<void>;
  /** Records the version capture saw for each key; a key keeps the newest one. */
  recordVersions(
    entries: readonly { member: string; version: number; deleted: boolean; etag?: string }[],
    now: number,
  ): Promise<void>;
  /**
   * The recorded version of each member, in order; undefined where none is recorded. The sync gets
   * them with its claim (ClaimedKey.recorded); this reads them on their own.
   */
  versions(members: readonly string[]): Promise<(RecordedVersion | undefined)[]>;
  /** The timeout record of each member, in order; undefined where none is kept (the sync's come with its claim). */
  timeouts(members: readonly string[]): Promise<(TimeoutRecord | undefined)[]>;
  /**
   * Records that a request of `size` keys with these members timed out; per member, the times it
   * timed out alone so far, or -1 where `token` no longer holds it.
   */
  recordTimeouts(token: string, members: readonly string[], size: number, now: number): Promise<number[]>;
  /** Forgets the timeout records of members whose request was answered, or that were dead-lettered. */
  clearTimeouts(members: readonly string[]): Promise<void>;
  /** Forgets records the sync has caught up with (each as `versions` returned it). */
  clearVersions(records: readonly { member: string; raw: string }[]): Promise<void>;
}

// ---- The source reader (shared/cosmos) ----

/** `D`: the document as read, or what the caller's `prepare` made of it (SourceReader.read). */
export type ReadResult<D = Record<string, unknown>> =
  | { readonly member: string; readonly found: true; readonly document: D }
  | { readonly member: string; readonly found: false }
  /**
   * `statusCode` and `retryAfterMs` when Cosmos answered (429 carries its retry-after), for
   * backpressure; `subStatusCode` when it sent one (a 404 whose container is missing has 1003).
   */
  | {
      readonly member: string;
      readonly error: string;
      readonly statusCode?: number;
      readonly subStatusCode?: number;
      readonly retryAfterMs?: number;
    };

/** Reads the current version of documents by key: what the sync engine needs from Cosmos. */
export interface SourceReader {
  /**
   * With `prepare`, each document found is handed to it as soon as its response is in, while the
   * rest of the keys are still being read, and what it returns takes the document's place. A batch
   * that keeps every document object until its last read is answered keeps thousands of young
   * objects alive through the collections that run meanwhile (other batches allocate), and the
   * collector copies and promotes them; prepared at once, they die young (bench/results/history.md).
   * `prepare` must not throw.
   */
  read<D = Record<string, unknown>>(keys: readonly ReadKey[], prepare?: Prepare<D>): Promise<ReadResult<D>[]>;
}

export type ReadKey = { readonly member: string; readonly key: DocKey };

/** What a found document becomes as soon as it is read (SourceReader.read). */
export type Prepare<D> = (document: Record<string, unknown>, member: string) => D;

/**
 * Reads the documents of another container by id, for a source's relations (shared/sync/relations.ts):
 * one call per relation per batch, whatever the number of ids.
 */
export interface RelatedReader {
  readByIds(container: string, ids: readonly string[]): Promise<Record<string, unknown>[]>;
}

/**
 * Finds the keys of a source's documents that point at related documents (a relation's
 * `dependents`): every one of them, or it throws (capture must not checkpoint past a change whose
 * dependents were not all enqueued).
 */
export interface DependentsFinder {
  find(relatedIds: readonly string[]): Promise<DocKey[]>;
}

// ---- The sink (shared/elastic) ----

/** One write to the index: the current version of a document, or its removal. */
export type SinkOp =
  | {
      readonly action: "index";
      /** The queue member this write settles. */
      readonly member: string;
      readonly id: string;
      /** External version: the document's `_ts` (seconds). Older reads never overwrite newer ones. */
      readonly version: number;
      /**
       * The mapped document; in the sync, its JSON text only once mapped (detachedDocuments in
       * shared/elastic/serialize.ts): read it through serializedDocument, not by its fields.
       */
      readonly document: Record<string, unknown>;
      /**
       * Another key can write this _id (documentId "id" where a document can move between
       * partitions; shared/sync/mapper.ts, sharesIds). A sync write that conflicts with a
       * tombstone, which only another key's delete can have left, is written over it (own-entries.ts).
       */
      readonly sharedId?: boolean;
      /** The shard routing (source `routing`, from the key: a delete of the key is routed the same). */
      readonly routing?: string;
      /** The ingest pipeline to index through (source `pipeline`). */
      readonly pipeline?: string;
      /**
       * The source's name, stamped as `driftless.source` where several sources share the index
       * (source `sharedIndex`), so what scans or counts one source's entries can filter by it.
       */
      readonly source?: string;
    }
  | {
      readonly action: "delete";
      readonly member: string;
      readonly id: string;
      readonly version: number;
      /** Another key can write this _id: an entry another key wrote is left alone (own-entries.ts). */
      readonly sharedId?: boolean;
      /** The routing the key's writes had; without it the delete would look on another shard. */
      readonly routing?: string;
    };

/**
 * What happened to one write. A version conflict is `ok`: a newer version is already there.
 * `retry` for 429, 5xx and transport failures; `dead` for other 4xx (the document itself is bad).
 */
export type ItemOutcome =
  | { readonly member: string; readonly outcome: "ok" }
  | { readonly member: string; readonly outcome: "retry"; readonly error: string }
  | { readonly member: string; readonly outcome: "dead"; readonly error: string };

/**
 * Asked before every bulk request a write sends, the client's own resend included: the sync checks
 * (and extends) its keys' leases here, so no request leaves after another worker may have claimed
 * the keys (shared/sync/lease-guard.ts).
 */
export interface WriteGuard {
  /** Resolves when the request may go; throws when it must not (nothing is sent, and the error reaches the caller as it is). */
  beforeRequest(): Promise<void>;
}

/** The single choke point for every write to Elasticsearch. */
export interface Sink {
  /**
   * One bulk request against the alias; one outcome per op, in op order. Never throws for item
   * errors. Throws only when the request is refused for a reason no document can fix (the alias
   * is missing, authentication fails, a 401/403 on any item: a missing index privilege or a write
   * block): configuration problems, which deserve one clear error rather than a dead letter per key. Transport failures, timeouts, 429 and 5xx are
   * not thrown: every op comes back `retry`.
   *
   * Every indexed document gets driftless's metadata (`driftless.key` = `member`,
   * `driftless.ts` = `version`; see metadata.ts).
   *
   * `guard`, when given, is asked before each bulk request (see WriteGuard).
   */
  write(alias: string, ops: readonly SinkOp[], guard?: WriteGuard): Promise<ItemOutcome[]>;
}
