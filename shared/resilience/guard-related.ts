import { DependencyError } from "../core/errors.js";
import type { RelatedReader } from "../sync/ports.js";
import { createBackoff, type Backoff } from "./backoff.js";
import { pauseAfterFailure } from "./failure-pause.js";
import type { Circuit } from "./circuit.js";
import { DependencyPause, isPause } from "./errors.js";

/**
 * The reader of related documents (a source's relations) behind the Cosmos circuit, as the
 * batch's own reads are (guard-reader.ts). Its queries run while the batch holds its keys: one
 * that fails for Cosmos's reason (429 past the SDK's retries, no answer, a timeout, 5xx) becomes a
 * DependencyPause, so the engine releases the keys without spending an attempt and waits, instead
 * of spending an attempt of every key of the batch on an outage or on throttling. A query Cosmos
 * refused for its own reason (a 400) is thrown as it is, and does not count against the circuit.
 */
export function guardRelatedReader(
  reader: RelatedReader,
  circuit: Circuit,
  backoff: Backoff = createBackoff({ initialMs: 500, maxMs: 30_000 }),
): RelatedReader {
  return {
    async readByIds(container, ids) {
      let answer: { found: Record<string, unknown>[] } | { refused: DependencyError };
      try {
        answer = await circuit.execute(async () => {
          try {
            return { found: await reader.readByIds(container, ids) };
          } catch (error) {
            // Returned, not thrown: the circuit counts every thrown DependencyError.
            if (error instanceof DependencyError && !error.retryable) return { refused: error };
            throw error;
          }
        });
      } catch (error) {
        if (isPause(error) || !(error instanceof DependencyError)) throw error;
        throw new DependencyPause(
          "cosmos",
          error.statusCode === 429 ? "throttled" : "unavailable",
          error.message,
          pauseAfterFailure(circuit, backoff),
          { cause: error, ...(error.statusCode === undefined ? {} : { statusCode: error.statusCode }) },
        );
      }
      if ("refused" in answer) throw answer.refused;
      backoff.reset();
      return answer.found;
    },
  };
}
