/** One write to the index: the current version of a document, or its removal. */
export type SinkOp =
  | {
      readonly action: "index";
      /** The queue member this write settles. */
      readonly member: string;
      readonly id: string;
      /** External version: the document's `_ts` (seconds). Older reads never overwrite newer ones. */
      readonly version: number;
      readonly document: Record<string, unknown>;
      /**
       * Another key can write this _id (documentId "id" where a document can move between
       * partitions; shared/sync/mapper.ts, sharesIds). A sync write that conflicts with a
       * tombstone, which only another key's delete can have left, is written over it (own-entries.ts).
       */
      readonly sharedId?: boolean;
    }
  | {
      readonly action: "delete";
      readonly member: string;
      readonly id: string;
      readonly version: number;
      /** Another key can write this _id: an entry another key wrote is left alone (own-entries.ts). */
      readonly sharedId?: boolean;
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

/** The `mappings` body of a create-index request: `properties`, `dynamic`, … (core field types). */
export type IndexMapping = Readonly<Record<string, unknown>>;

/** Index settings (shards, replicas, …), used when an index is created. */
export type IndexSettings = Readonly<Record<string, unknown>>;

/** What an alias and the index versions behind it are made of. */
export interface IndexDefinition {
  /** The name searches and writes use; the concrete index behind it is driftless's to create and swap. */
  readonly alias: string;
  readonly mapping: IndexMapping;
  readonly settings?: IndexSettings | undefined;
}
