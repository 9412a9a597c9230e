/**
 * Pure classification of bulk results, kept apart from the client so it can be unit-tested with
 * the response shapes Elasticsearch really returns (see test/unit/elastic-classify.test.ts).
 *
 * Every retry is safe: writes carry external versions (`external_gte`), so applying a write a
 * second time, or after a newer one, changes nothing.
 */

/** Longest reason kept in an outcome (and so in a dead letter). */
export const MAX_REASON_LENGTH = 500;

/** Elasticsearch's error object, as found in a bulk item or an error response. */
export interface EsErrorCause {
  readonly type: string;
  readonly reason?: string | null;
  readonly caused_by?: EsErrorCause;
}

/** One entry of a bulk response's `items`, under its action key. */
export interface BulkItemResult {
  readonly status: number;
  readonly result?: string;
  readonly error?: EsErrorCause;
}

export type Verdict =
  | { readonly outcome: "ok" }
  /** `indexMissing`: the alias is gone; when every item says so the sink throws instead. */
  | { readonly outcome: "retry"; readonly error: string; readonly indexMissing?: true }
  | { readonly outcome: "dead"; readonly error: string }
  /**
   * 401/403 on the item: the credentials may not write this index, or the index is write-blocked.
   * No document can fix that, so the sink throws the same refusal as for a whole request refused
   * with 401/403, instead of dead-lettering every key of the batch.
   */
  | { readonly outcome: "refused"; readonly error: string; readonly statusCode: 401 | 403 };

/**
 * Error types that describe the index or the cluster, not the document, whatever their status
 * (but 401/403, which are refused): a block that passes by itself (the flood-stage disk block is a
 * 429, "state not recovered" a 503), a closed index, rejected execution, a tripped circuit breaker.
 */
const TRANSIENT_TYPES: ReadonlySet<string> = new Set([
  "es_rejected_execution_exception",
  "circuit_breaking_exception",
  "cluster_block_exception",
  "index_closed_exception",
  "unavailable_shards_exception",
  "no_shard_available_action_exception",
]);

/**
 * | item                                   | outcome |
 * | -------------------------------------- | ------- |
 * | 2xx                                    | ok      |
 * | 409 version_conflict_engine_exception  | ok (a newer version is already there) |
 * | 404 on delete without an error         | ok (nothing to delete; a tombstone keeps the version) |
 * | 404 index_not_found_exception          | retry, flagged indexMissing |
 * | 401, 403 (security_exception, a write block's cluster_block_exception) | refused |
 * | 429, 5xx, or a TRANSIENT_TYPES error   | retry   |
 * | other 409                              | retry   |
 * | other 4xx                              | dead, `type: reason (caused by …)` |
 * | no item at that position               | retry   |
 */
export function classifyItem(action: "index" | "delete", item: BulkItemResult | undefined): Verdict {
  if (!item || typeof item.status !== "number") {
    return { outcome: "retry", error: "the bulk response has no result for this item" };
  }
  const { status, error } = item;
  if (status >= 200 && status < 300) return { outcome: "ok" };
  const type = error?.type;
  if (status === 409 && type === "version_conflict_engine_exception") return { outcome: "ok" };
  if (status === 404 && action === "delete" && !error) return { outcome: "ok" };
  const reason = error ? formatReason(error) : `status ${status}`;
  if (type === "index_not_found_exception") return { outcome: "retry", error: reason, indexMissing: true };
  if (status === 401 || status === 403) return { outcome: "refused", error: reason, statusCode: status };
  if (status === 429 || status >= 500 || status === 409 || (type !== undefined && TRANSIENT_TYPES.has(type))) {
    return { outcome: "retry", error: reason };
  }
  return { outcome: "dead", error: reason };
}

/** A whole bulk request that failed, reduced to plain data (see failure.ts). */
export interface RequestFailure {
  /** HTTP status; `undefined` when no response came back (connection refused, timeout, aborted). */
  readonly statusCode: number | undefined;
  /** Elasticsearch's `error.type`, when the response had one. */
  readonly type: string | undefined;
  /** One line for logs and outcomes, secret-free. */
  readonly description: string;
}

export type RequestVerdict =
  | { readonly outcome: "retry"; readonly error: string }
  | { readonly outcome: "dead"; readonly error: string }
  /** The request as a whole was refused for a reason no document can fix: the caller must see it. */
  | { readonly outcome: "throw" };

/**
 * | whole request                              | every item |
 * | ------------------------------------------ | ---------- |
 * | no response, timeout, 408, 429, 5xx        | retry      |
 * | 413 with several documents                 | retry (the batch is over http.max_content_length: send smaller batches) |
 * | 413 with one document                      | dead (that document alone is over the limit) |
 * | any other status (401, 403, 400, 404, …)   | throw      |
 */
export function classifyRequestFailure(failure: RequestFailure, opCount: number, bodyBytes: number): RequestVerdict {
  const { statusCode: status, description } = failure;
  if (status === undefined || status === 408 || status === 429 || status >= 500) {
    return { outcome: "retry", error: `bulk request failed: ${description}` };
  }
  if (status === 413) {
    return opCount > 1
      ? {
          outcome: "retry",
          error: truncate(
            `bulk request of ${opCount} documents (${bodyBytes} bytes) is larger than Elasticsearch accepts ` +
              `(413, http.max_content_length): retry in smaller batches (lower SYNC_BATCH_MAX_BYTES)`,
          ),
        }
      : {
          outcome: "dead",
          error: `document is too large for Elasticsearch: ${bodyBytes} bytes exceed http.max_content_length (413)`,
        };
  }
  return { outcome: "throw" };
}

/** `type: reason (caused by type: reason)` on one line, at most MAX_REASON_LENGTH characters. */
export function formatReason(error: EsErrorCause): string {
  let text = error.reason ? `${error.type}: ${error.reason}` : error.type;
  const cause = error.caused_by;
  if (cause) text += ` (caused by ${cause.reason ? `${cause.type}: ${cause.reason}` : cause.type})`;
  return truncate(text.replace(/\s+/g, " "));
}

export function truncate(text: string, max = MAX_REASON_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
