import { describeError } from "../core/errors.js";
import type { ItemOutcome, Failure } from "./ports.js";
import { isPause, type DependencyPause } from "../resilience/errors.js";

/**
 * What becomes of each claimed key, gathered by the read and write steps and applied to the
 * queue in one go (settle.ts):
 * - `acked`: written (or a newer version was already there);
 * - `retries`: failed for a reason that may pass; an attempt is spent;
 * - `dead`: failed for the document's own reason (mapping error, a 4xx on the item);
 * - `released`: never tried because a dependency could not take it; no attempt is spent;
 * - `deferred`: Cosmos served an older version than capture saw (freshness.ts): read again
 *   shortly, no attempt spent.
 *
 * `caughtUp` holds the version records that an acked key's read has caught up with, to forget.
 */
export interface Settlement {
  readonly acked: string[];
  readonly retries: Failure[];
  readonly dead: Failure[];
  readonly released: string[];
  readonly deferred: string[];
  readonly caughtUp: { readonly member: string; readonly raw: string }[];
  /** A dependency asked to wait (open circuit, 429, outage): the drain waits before claiming again. */
  pause?: DependencyPause;
  /** An error to raise once the keys are settled: a configuration problem or a bug. */
  refusal?: unknown;
}

export const emptySettlement = (): Settlement => ({
  acked: [],
  retries: [],
  dead: [],
  released: [],
  deferred: [],
  caughtUp: [],
});

export function recordOutcomes(settlement: Settlement, outcomes: readonly ItemOutcome[]): void {
  for (const outcome of outcomes) {
    if (outcome.outcome === "ok") settlement.acked.push(outcome.member);
    else if (outcome.outcome === "retry") settlement.retries.push({ member: outcome.member, error: outcome.error });
    else settlement.dead.push({ member: outcome.member, error: outcome.error, reason: "rejected by elasticsearch" });
  }
}

/**
 * Keys a step could not handle because `error` stopped it. A dependency pause releases them and
 * is remembered; anything else too, and is raised after settling (see writeChunks).
 */
export function releaseAfter(settlement: Settlement, members: readonly string[], error: unknown): void {
  settlement.released.push(...members);
  if (isPause(error)) settlement.pause ??= error;
  else settlement.refusal ??= error;
}

/** Keys a step failed on for an unexpected reason: they spend an attempt, and the error is raised after settling. */
export function retryAfter(settlement: Settlement, members: readonly string[], error: unknown): void {
  const text = describeError(error);
  settlement.retries.push(...members.map((member) => ({ member, error: text })));
  settlement.refusal ??= error;
}
