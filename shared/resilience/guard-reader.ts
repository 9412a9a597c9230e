import { timeout, TimeoutStrategy, TaskCancelledError } from "cockatiel";
import type { Prepare, ReadKey, ReadResult, SourceReader } from "../sync/ports.js";
import { createBackoff, type Backoff } from "./backoff.js";
import type { Circuit } from "./circuit.js";
import { readFailureScope } from "./classify.js";
import { DependencyPause, PartlyServedPause } from "./errors.js";
import { pauseAfterFailure } from "./failure-pause.js";

export interface GuardReaderOptions {
  /**
   * The longest one batch of point reads may take. Reads have no side effects, so a batch that
   * overruns is abandoned (its keys released) rather than awaited. @defaultValue 60000
   */
  readonly timeoutMs?: number;
  readonly backoff?: Backoff;
}

/**
 * The Cosmos reader behind its circuit breaker, with backpressure.
 *
 * The SDK already retries each throttled read after Cosmos's retry-after. A read that still ends
 * in 429, or in no answer / 5xx / refused credentials, makes the batch a DependencyPause: the
 * engine releases the keys Cosmos did not serve without spending an attempt, and waits the
 * retry-after (or a growing jittered backoff). When Cosmos served some of the batch, the pause is
 * a PartlyServedPause carrying those reads, which the engine writes as usual. Unavailability
 * counts against the circuit; so does throttling, so a Cosmos account that keeps refusing work is
 * left alone for a while. Reads that fail for the document's own reason (a 400) come back as they
 * are and take the normal retry path.
 */
export function guardReader(reader: SourceReader, circuit: Circuit, options: GuardReaderOptions = {}): SourceReader {
  const { timeoutMs = 60_000, backoff = createBackoff({ initialMs: 500, maxMs: 30_000 }) } = options;
  const deadline = timeout(timeoutMs, TimeoutStrategy.Aggressive);

  return {
    async read<D = Record<string, unknown>>(keys: readonly ReadKey[], prepare?: Prepare<D>) {
      let results: ReadResult<D>[];
      try {
        results = await circuit.execute(
          () => deadline.execute(() => reader.read(keys, prepare)),
          (batch) => summarize(batch).failed > 0,
        );
      } catch (error) {
        if (!(error instanceof TaskCancelledError)) throw error;
        throw new DependencyPause(
          "cosmos",
          "unavailable",
          `reading ${keys.length} documents took longer than ${timeoutMs} ms`,
          pauseAfterFailure(circuit, backoff),
          { cause: error },
        );
      }
      const summary = summarize(results);
      if (summary.failed === 0) {
        backoff.reset();
        return results;
      }
      const scope = summary.unavailable > 0 ? "unavailable" : "throttled";
      const wait = pauseAfterFailure(circuit, backoff, summary.retryAfterMs);
      const what =
        scope === "throttled"
          ? "is throttling reads (429)"
          : summary.statusCode === 404
            ? "cannot find the source's container"
            : "did not answer";
      const message = `cosmos ${what}: ${summary.firstError}`;
      const statusCode = summary.statusCode === undefined ? {} : { statusCode: summary.statusCode };
      if (summary.failed === results.length) throw new DependencyPause("cosmos", scope, message, wait, statusCode);
      // Throttling that outlasts the SDK's retries refuses some reads of a batch and not others;
      // discarding the answered ones would spend their request units again on the next try, and
      // under steady throttling no batch would ever be answered whole.
      const unserved = new Set(summary.unserved);
      throw new PartlyServedPause(
        { kind: scope, message, retryAfterMs: wait, ...statusCode },
        results.filter((result) => !unserved.has(result.member)),
        summary.unserved,
      );
    },
  };
}

function summarize(results: readonly ReadResult<unknown>[]) {
  let throttled = 0;
  let unavailable = 0;
  let retryAfterMs = 0;
  let firstError = "";
  let statusCode: number | undefined;
  const unserved: string[] = [];
  for (const result of results) {
    if (!("error" in result)) continue;
    const scope = readFailureScope(result);
    if (scope === "document") continue;
    unserved.push(result.member);
    if (scope === "throttled") throttled++;
    else unavailable++;
    retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs ?? 0);
    firstError ||= result.error;
    statusCode ??= result.statusCode;
  }
  return { failed: throttled + unavailable, throttled, unavailable, retryAfterMs, firstError, statusCode, unserved };
}
