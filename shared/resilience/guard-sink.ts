import type { ItemOutcome, Sink, SinkOp, WriteGuard } from "../sync/ports.js";
import { createBackoff, type Backoff } from "./backoff.js";
import type { Circuit } from "./circuit.js";
import { pauseAfterFailure } from "./failure-pause.js";
import { bulkRequestFailure, itemFailureScope } from "./classify.js";
import { BulkTimeoutPause, DependencyPause, PartlyWrittenPause } from "./errors.js";

/**
 * The Elasticsearch sink behind its circuit breaker, with backpressure.
 *
 * A bulk response in which Elasticsearch did not take the request as a whole (no answer, timeout,
 * 429, 5xx: the bulk sink then marks every item `retry` with the same error) is a failure of
 * Elasticsearch, not of the documents. It counts against the circuit and is thrown as a
 * DependencyPause instead of returned, so the engine releases the keys without spending attempts
 * and waits: a short jittered backoff that grows while the failures repeat, and once the circuit
 * is open, until its next trial. Items judged one by one (a mapping conflict, a version conflict) pass
 * through unchanged; when some items were shed for the cluster's load or state and the others
 * written, the call throws a PartlyWrittenPause with the judged ones, so only the shed keys wait.
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
        (result) => bulkRequestFailure(result) !== undefined || result.some(shed),
      );
      const failure = bulkRequestFailure(outcomes);
      if (failure) {
        const wait = pauseAfterFailure(circuit, backoff);
        const what = failure.scope === "throttled" ? "is throttling writes (429)" : "did not take the bulk request";
        const Pause = failure.timedOut ? BulkTimeoutPause : DependencyPause;
        throw new Pause("elasticsearch", failure.scope, `elasticsearch ${what}: ${failure.error}`, wait);
      }
      const unwritten = outcomes.filter(shed);
      if (unwritten.length === 0) {
        backoff.reset();
        return outcomes;
      }
      // Shed by a loaded node while the rest of the request was written: those keys wait, and
      // spend no attempt, as for a request refused whole.
      const throttled = unwritten.some((outcome) => itemFailureScope(outcome) === "throttled");
      const first = unwritten[0] as Extract<ItemOutcome, { outcome: "retry" }>;
      throw new PartlyWrittenPause(
        {
          kind: throttled ? "throttled" : "unavailable",
          message: `elasticsearch ${throttled ? "shed" : "could not take"} ${unwritten.length} of ${outcomes.length} writes: ${first.error}`,
          retryAfterMs: pauseAfterFailure(circuit, backoff),
        },
        outcomes.filter((outcome) => !shed(outcome)),
        unwritten.map((outcome) => outcome.member),
      );
    },
  };
}

/** An item Elasticsearch did not write for its own load or state, not for the document. */
const shed = (outcome: ItemOutcome) => itemFailureScope(outcome) !== "document";
