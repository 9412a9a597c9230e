import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  halfJitterGenerator,
  handleWhen,
  IsolatedCircuitError,
  TaskCancelledError,
  type CircuitBreakerPolicy,
} from "cockatiel";
import { DependencyError } from "../core/errors.js";
import type { Logger } from "../telemetry/logger.js";
import { observeBackoff } from "./backoff.js";
import { DependencyPause, type Dependency } from "./errors.js";

export type CircuitStateName = "closed" | "open" | "half-open" | "isolated";

export interface CircuitOptions {
  /** Consecutive failed calls that open the circuit (CIRCUIT_FAILURE_THRESHOLD). @defaultValue 5 */
  readonly failureThreshold: number;
  /** Wait before the first trial call once open (CIRCUIT_HALF_OPEN_AFTER_MS); grows, jittered, after each failed trial. @defaultValue 5000 */
  readonly halfOpenAfterMs: number;
  /** Longest wait between trial calls (CIRCUIT_HALF_OPEN_MAX_MS). @defaultValue 60000 */
  readonly halfOpenMaxMs: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: CircuitOptions = Object.freeze({
  failureThreshold: 5,
  halfOpenAfterMs: 5000,
  halfOpenMaxMs: 60_000,
});

/** A circuit breaker around one dependency (cockatiel's, with a consecutive-failures breaker). */
export interface Circuit {
  readonly dependency: Dependency;
  state(): CircuitStateName;
  /** How long until a call may go through: 0 when closed, half-open, or open long enough for a trial. */
  retryAfterMs(): number;
  /**
   * Runs `call` through the breaker. A thrown DependencyError or timeout counts as a failure, and
   * so does a result `isFailure` accepts (the result is still returned: a bulk response whose
   * every item failed is a failure of Elasticsearch, not an exception). While the circuit is open
   * it throws a DependencyPause of kind `circuit_open` without calling.
   */
  execute<T>(call: () => Promise<T>, isFailure?: (result: T) => boolean): Promise<T>;
}

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

/** A result the caller's filter called a failure, boxed so the breaker's result filter can tell it apart. */
class FailedResult<T> {
  constructor(readonly value: T) {}
}

/** Failures that say something about the dependency (not about one request's input). */
export function isDependencyFailure(error: unknown): boolean {
  return (
    (error instanceof DependencyError && !(error instanceof DependencyPause)) || error instanceof TaskCancelledError
  );
}

export function createCircuit(dependency: Dependency, options: CircuitOptions, logger: Logger): Circuit {
  const { failureThreshold, halfOpenAfterMs, halfOpenMaxMs } = options;
  let reopenAt = 0;
  const halfOpenAfter = observeBackoff(
    new ExponentialBackoff({
      initialDelay: halfOpenAfterMs,
      maxDelay: Math.max(halfOpenAfterMs, halfOpenMaxMs),
      generator: halfJitterGenerator,
    }),
    (duration) => (reopenAt = Date.now() + duration),
  );
  const policy: CircuitBreakerPolicy = circuitBreaker(
    handleWhen(isDependencyFailure).orWhenResult((result) => result instanceof FailedResult),
    { halfOpenAfter, breaker: new ConsecutiveBreaker(failureThreshold) },
  );

  policy.onStateChange((state) => {
    const fields = { dependency, circuit: STATE_NAMES[state] };
    if (state === CircuitState.Open) {
      const last = policy.lastFailure;
      const reason = last && "error" in last ? last.error.message : "its last answer was a failure";
      logger.warn(
        { ...fields, retryInMs: Math.max(0, reopenAt - Date.now()), reason: reason.slice(0, 300) },
        `${dependency} circuit open`,
      );
    } else if (state === CircuitState.Closed) {
      logger.info(fields, `${dependency} circuit closed`);
    } else {
      logger.info(fields, `${dependency} circuit half-open: trying one call`);
    }
  });

  return {
    dependency,
    state: () => STATE_NAMES[policy.state],
    retryAfterMs() {
      if (policy.state === CircuitState.Isolated) return halfOpenMaxMs;
      if (policy.state !== CircuitState.Open) return 0;
      return Math.max(0, reopenAt - Date.now());
    },
    async execute<T>(call: () => Promise<T>, isFailure?: (result: T) => boolean): Promise<T> {
      let outcome: T | FailedResult<T>;
      try {
        outcome = await policy.execute(async () => {
          const result = await call();
          return isFailure?.(result) ? new FailedResult(result) : result;
        });
      } catch (error) {
        if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
          // The call was not made.
          throw new DependencyPause(
            dependency,
            "circuit_open",
            `${dependency} circuit is open; not calling it for now`,
            Math.max(1, reopenAt - Date.now()),
          );
        }
        throw error;
      }
      return outcome instanceof FailedResult ? (outcome.value as T) : outcome;
    },
  };
}
