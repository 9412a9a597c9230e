import { describeError } from "../core/errors.js";
import type { SinkOp, Claim } from "./ports.js";
import type { SyncDeps } from "./types.js";
import { emptyReport, type BatchReport } from "./report.js";
import type { Settlement } from "./settlement.js";

/**
 * Applies a batch's settlement to the queue: ack, retry, dead letter and release run together
 * (each is one atomic script over the keys this claim still holds). If Redis fails here the keys
 * stay in flight and the reaper returns them once their lease expires.
 */
export async function settle(
  deps: SyncDeps,
  claim: Claim,
  settlement: Settlement,
  written: readonly SinkOp[],
): Promise<BatchReport> {
  const { queue, clock, logger, source } = deps;
  const { acked, retries, dead, released, deferred } = settlement;
  const now = clock.now();
  const [ackResult, retryResult, deadResult, releaseResult, deferResult] = await Promise.all([
    acked.length ? queue.ack(claim.token, acked, now) : undefined,
    retries.length ? queue.retry(claim.token, retries, now) : undefined,
    dead.length ? queue.deadLetter(claim.token, dead, now) : undefined,
    released.length ? queue.release(claim.token, released, now) : undefined,
    // Released with a later due time: the replica gets a moment to catch up.
    deferred.length ? queue.release(claim.token, deferred, now + deps.options.staleReadRetryMs) : undefined,
  ]);
  await forgetCaughtUp(deps, settlement);

  const report = emptyReport();
  report.claimed = claim.items.length;
  const ok = new Set(acked);
  for (const op of written) {
    if (!ok.has(op.member)) continue;
    if (op.action === "index") report.indexed++;
    else report.deleted++;
  }
  report.retried = (retryResult?.settled ?? 0) - (retryResult?.deadLettered ?? 0);
  report.deadLettered = (deadResult?.settled ?? 0) + (retryResult?.deadLettered ?? 0);
  report.released = releaseResult?.settled ?? 0;
  report.deferred = deferResult?.settled ?? 0;
  report.stale =
    (ackResult?.stale ?? 0) +
    (retryResult?.stale ?? 0) +
    (deadResult?.stale ?? 0) +
    (releaseResult?.stale ?? 0) +
    (deferResult?.stale ?? 0);
  if (settlement.pause) report.pause = settlement.pause;

  if (acked.length) await queue.markSynced(now);
  if (report.deadLettered || report.stale) {
    logger.warn(
      {
        source: source.name,
        deadLettered: report.deadLettered,
        stale: report.stale,
        firstError: dead[0]?.error ?? retries[0]?.error,
      },
      "batch settled with dead letters or stale leases",
    );
  }
  if (report.retried) {
    // Each of these keys spent an attempt: say why, so an attempt spent during an outage (which
    // should cost none) can be traced to the error that was taken for the document's own.
    logger.info(
      { source: source.name, retried: report.retried, firstError: retries[0]?.error },
      "keys failed and wait for another attempt",
    );
  }
  if (report.deferred) {
    logger.info(
      { source: source.name, deferred: report.deferred, retryInMs: deps.options.staleReadRetryMs },
      "stale reads: Cosmos served versions older than captured; reading them again",
    );
  }
  if (settlement.pause) {
    const { dependency, kind, retryAfterMs, message } = settlement.pause;
    logger.warn(
      {
        source: source.name,
        dependency,
        kind,
        released: report.released,
        retryInMs: retryAfterMs,
        reason: message.slice(0, 300),
      },
      "sync paused: keys released without spending an attempt",
    );
  }
  return report;
}

/**
 * Forgets the version records of acked keys whose read was at least that new. A failure here
 * costs nothing but a stale record, which the next read of the key replaces or outlives.
 */
async function forgetCaughtUp(deps: SyncDeps, settlement: Settlement): Promise<void> {
  if (settlement.caughtUp.length === 0) return;
  const acked = new Set(settlement.acked);
  const records = settlement.caughtUp.filter((record) => acked.has(record.member));
  if (records.length === 0) return;
  try {
    await deps.queue.clearVersions(records);
  } catch (error) {
    deps.logger.warn(
      { source: deps.source.name, err: describeError(error) },
      "could not forget caught-up version records",
    );
  }
}
