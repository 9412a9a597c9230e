import type { ItemOutcome, Sink, SinkOp, WriteGuard } from "../sync/ports.js";
import { createBackoff, type Backoff } from "./backoff.js";
import type { Circuit } from "./circuit.js";
import { bulkRequestFailure } from "./classify.js";
import { BulkTimeoutPause, DependencyPause } from "./errors.js";

/**
 * The Elasticsearch sink behind its circuit breaker, with backpressure.
 *
 * A bulk response in which Elasticsearch did not take the request as a whole (no answer, timeout,
 * 429, 5xx: the bulk sink then marks every item `retry` with the same error) is a failure of
 * Elasticsearch, not of the documents. It counts against the circuit and is thrown as a
 * DependencyPause instead of returned, so the engine releases the keys without spending attempts
 * and waits: a short jittered backoff that grows while the failures repeat, or the circuit's own
 * wait once it is open. Items judged one by one (a mapping conflict, a version conflict) pass
 * through unchanged.
 *
 * No retry inside the call: the client already retries a dropped connection once, and a longer
 * wait belongs in the queue, where the keys are not held.
 */
export function guardSink(
  sink: Sink,
  circuit: Circuit,
  backoff: Backoff = createBackoff({ initialMs: 500, maxMs: 30_000 }),
): Sink {
  return {
    async write(alias: string, ops: readonly SinkOp[], guard?: WriteGuard): Promise<ItemOutcome[]> {
      const outcomes = await circuit.execute(
        () => sink.write(alias, ops, guard),
        (result) => bulkRequestFailure(result) !== undefined,
      );
      const failure = bulkRequestFailure(outcomes);
      if (!failure) {
        backoff.reset();
        return outcomes;
      }
      const wait = Math.max(backoff.next(), circuit.retryAfterMs());
      const what = failure.scope === "throttled" ? "is throttling writes (429)" : "did not take the bulk request";
      const Pause = failure.timedOut ? BulkTimeoutPause : DependencyPause;
      throw new Pause("elasticsearch", failure.scope, `elasticsearch ${what}: ${failure.error}`, wait);
    },
  };
}
