import { DriftlessError, describeError } from "../core/errors.js";
import type { WriteGuard, Claim } from "./ports.js";
import type { SyncDeps } from "./types.js";

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
 * The leases of one batch while its chunks are written. Before each bulk request (a resend, a
 * second target during a rebuild, a write over a tombstone included), this holder must keep the
 * chunk's keys for the whole request, its timeout and a margin, or a second worker could claim
 * them while the request is still on its way and both would write: with `external_gte`, whichever
 * lands last wins, and within one second of `_ts` that may be the older body. When less is left,
 * the chunk's leases are extended, and with them those of every other key of the batch, which wait
 * for the settle at the end (written ones included: their ack would find them reaped, with an
 * attempt counted). If any of the chunk's had expired already (the script does not say which),
 * the chunk is not sent.
 */
export interface BatchLease {
  /** The guard of one chunk's requests. */
  guard(members: readonly string[]): WriteGuard;
}

export function batchLease(deps: SyncDeps, claim: Claim): BatchLease {
  const { clock, options } = deps;
  const needed = options.writeTimeoutMs + LEASE_MARGIN_MS;
  const all = claim.items.map((item) => item.member);
  let heldUntil = claim.leaseDeadline;
  return {
    guard(members) {
      const chunk = new Set(members);
      return {
        async beforeRequest() {
          const now = clock.now();
          if (heldUntil - now > needed) return;
          const leaseMs = Math.max(options.leaseMs, needed * 2);
          const rest = all.filter((member) => !chunk.has(member));
          let stale: number;
          try {
            const [mine, others] = await Promise.all([
              deps.queue.extend(claim.token, members, leaseMs, now),
              rest.length > 0 ? deps.queue.extend(claim.token, rest, leaseMs, now) : undefined,
            ]);
            stale = mine.stale;
            // Some other key of the batch was lost too (which one is not said): from now on each
            // chunk extends, and so checks, its own before its request.
            if (stale === 0 && (others?.stale ?? 0) === 0) heldUntil = now + leaseMs;
          } catch (error) {
            throw new LeaseLostError(`could not extend the leases before a bulk request: ${describeError(error)}`, {
              cause: error,
            });
          }
          if (stale > 0) throw new LeaseLostError(`${stale} of ${members.length} leases expired before a bulk request`);
        },
      };
    },
  };
}
