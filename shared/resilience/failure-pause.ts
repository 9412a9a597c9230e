import type { Backoff } from "./backoff.js";
import type { Circuit } from "./circuit.js";

/**
 * How long the caller of a failed call waits before calling the dependency again. Once the
 * circuit is open its trials decide, at most CIRCUIT_HALF_OPEN_MAX_MS apart (or later where the
 * dependency asked for longer: `hintMs`, Cosmos's retry-after); the growing backoff spaces the
 * failures before that. Taking the longer of the two let a loop whose trials had failed through
 * a long outage sleep for the backoff's 30 s after the dependency was back, its circuit still
 * open for as long.
 */
export function pauseAfterFailure(circuit: Circuit, backoff: Backoff, hintMs = 0): number {
  if (circuit.state() === "open") return Math.max(1, circuit.retryAfterMs(), hintMs);
  return backoff.next(hintMs);
}
