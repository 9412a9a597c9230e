import { DriftlessError, describeError } from "../core/errors.js";
import type { WriteGuard } from "../elastic/types.js";
import type { Claim } from "../queue/types.js";
import type { SyncDeps } from "./engine.js";

/** Lease left beyond one request's timeout when a request is sent: Redis's answer and the workers' clocks. */
export const LEASE_MARGIN_MS = 1000;

/**
 * Some of a chunk's leases were lost (or could not be confirmed) before a bulk request: the
 * request is not sent. The keys belong to whoever claimed them since, or come back through the
 * queue; not a failure of Elasticsearch, so no circuit counts it.
 */
export class LeaseLostError extends DriftlessError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("lease_lost", message, options);
  }
}

/**
 * The guard of one chunk's writes: before each bulk request (a resend, a second target during a
 * rebuild, a write over a tombstone included), this holder must keep the chunk's keys for the
 * whole request, its timeout and a margin, or a second worker could claim them while the request
 * is still on its way and both would write: with `external_gte`, whichever lands last wins, and
 * within one second of `_ts` that may be the older body. When less is left, the chunk's leases
 * are extended first; if any had expired already (the script does not say which), nothing is sent.
 */
export function leaseGuard(deps: SyncDeps, claim: Claim, members: readonly string[]): WriteGuard {
  const { clock, options } = deps;
  const needed = options.writeTimeoutMs + LEASE_MARGIN_MS;
  let heldUntil = claim.leaseDeadline;
  return {
    async beforeRequest() {
      const now = clock.now();
      if (heldUntil - now > needed) return;
      const leaseMs = Math.max(options.leaseMs, needed * 2);
      let stale: number;
      try {
        ({ stale } = await deps.queue.extend(claim.token, members, leaseMs, now));
      } catch (error) {
        throw new LeaseLostError(`could not extend the leases before a bulk request: ${describeError(error)}`, { cause: error });
      }
      if (stale > 0) throw new LeaseLostError(`${stale} of ${members.length} leases expired before a bulk request`);
      heldUntil = now + leaseMs;
    },
  };
}
