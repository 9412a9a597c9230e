import type { ReadResult, ItemOutcome } from "../sync/ports.js";

/**
 * What a failure says about the dependency rather than the document:
 * - `throttled`: it is up and asks for less (429);
 * - `unavailable`: no answer, a timeout, 5xx, or refused credentials (401/403): no document can
 *   succeed until it recovers;
 * - `document`: this document's own problem, which its attempts and dead letter are for.
 */
export type FailureScope = "throttled" | "unavailable" | "document";

/** Prefix classifyRequestFailure (shared/elastic/classify.ts) gives a whole-request failure; test/unit/resilience-classify.test.ts keeps the two in step. */
const REQUEST_FAILED = "bulk request failed: ";
const STATUS_AFTER_PREFIX = /^bulk request failed: (\d{3}) /;
/** The client's own timeout (ELASTICSEARCH_REQUEST_TIMEOUT_MS), as failure.ts describes it: no answer in time. */
const TIMED_OUT = `${REQUEST_FAILED}TimeoutError`;
/** Item errors Elasticsearch gives when a node sheds load rather than because of the document. */
const LOAD_SHEDDING = /^(es_rejected_execution_exception|circuit_breaking_exception)\b/;
/** Item errors about the cluster or the index (starting up, shards not yet assigned, a write block). */
const CLUSTER_STATE =
  /^(cluster_block_exception|unavailable_shards_exception|no_shard_available_action_exception|index_closed_exception|node_closed_exception)\b/;

/**
 * A bulk response that says Elasticsearch did not take the request at all: every item `retry`
 * with the same whole-request error (no answer, timeout, 408, 429, 5xx), or every item refused
 * for a reason about the cluster rather than the document (load shedding, shards not available
 * while a node starts). Undefined when at least one item was judged on its own.
 */
export function bulkRequestFailure(
  outcomes: readonly ItemOutcome[],
): { scope: Exclude<FailureScope, "document">; error: string; timedOut?: true } | undefined {
  const first = outcomes[0];
  if (first?.outcome !== "retry") return undefined;
  const errors = outcomes.map((outcome) => (outcome.outcome === "retry" ? outcome.error : undefined));
  if (errors.every((error) => error !== undefined && LOAD_SHEDDING.test(error)))
    return { scope: "throttled", error: first.error };
  if (errors.every((error) => error !== undefined && (CLUSTER_STATE.test(error) || LOAD_SHEDDING.test(error)))) {
    return { scope: "unavailable", error: first.error };
  }
  if (!first.error.startsWith(REQUEST_FAILED) || errors.some((error) => error !== first.error)) return undefined;
  const status = Number(STATUS_AFTER_PREFIX.exec(first.error)?.[1] ?? NaN);
  if (first.error.startsWith(TIMED_OUT)) return { scope: "unavailable", error: first.error, timedOut: true };
  return { scope: status === 429 ? "throttled" : "unavailable", error: first.error };
}

/**
 * A failed Cosmos point read, by its status; transport failures and timeouts have none. A 404
 * that is not about the document (its container or database is missing: sub-status 1003) is
 * about the source, so no document may spend an attempt on it (shared/cosmos/errors.ts).
 */
export function readFailureScope(result: Extract<ReadResult, { error: string }>): FailureScope {
  const status = result.statusCode;
  if (status === undefined || status === 408 || status === 401 || status === 403 || status >= 500) return "unavailable";
  if (status === 404 && result.subStatusCode !== undefined) return "unavailable";
  if (status === 429) return "throttled";
  return "document";
}

/**
 * What one bulk item's failure says, when Elasticsearch judged the items one by one: a shard that
 * shed load (`es_rejected_execution_exception`, a tripped breaker) is `throttled`, a shard that
 * is not there or blocked for the cluster's state is `unavailable`, and anything else is about the
 * document. A loaded node rejects the items of its own shards and writes the others, so one
 * response can hold both (test/faults/elasticsearch-load-shedding.test.ts).
 */
export function itemFailureScope(outcome: ItemOutcome): FailureScope {
  if (outcome.outcome !== "retry") return "document";
  if (LOAD_SHEDDING.test(outcome.error)) return "throttled";
  if (CLUSTER_STATE.test(outcome.error)) return "unavailable";
  return "document";
}
