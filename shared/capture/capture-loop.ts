import { sleep, type Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { ChangeFeedReader } from "../cosmos/change-feed.js";
import type { Logger } from "../telemetry/logger.js";
import type { CaptureStore, SavedCheckpoint } from "./capture-store.js";

export interface CaptureOptions {
  /** How long the reader lease lasts without renewal; a dead reader is replaced after this. */
  readonly leaseMs: number;
  /** Wait between reads once every feed range is caught up. */
  readonly pollMs: number;
}

export interface CaptureDeps {
  /** What the logs name: the source, or the related container (shared/capture/relations.ts). */
  readonly name: string;
  /**
   * Puts a page's changes where the sync finds them: the source's keys (enqueueChanges), or the
   * dependents of related documents (enqueueDependents). Throws when they did not all get there:
   * the page's continuation is then not saved, and the page is read again.
   */
  handle(changes: readonly unknown[], now: number): Promise<{ enqueued: number; skipped: number }>;
  readonly store: CaptureStore;
  /** Opens the container's change feed, at the saved continuation or else at the start position. */
  openFeed(continuation: string | undefined): Promise<ChangeFeedReader>;
  /** One continuation from the per-range ones of an earlier version (see mergeRangeContinuations); throws when they cannot be merged. */
  mergePerRange(continuations: readonly string[]): { continuation: string; ranges: number; uncovered: number };
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface CaptureCounters {
  pages: number;
  changes: number;
  enqueued: number;
}

/**
 * Worker-mode change capture for one source: wait for the reader lease, then read the container's
 * change feed from the saved continuation, enqueue the keys, and only then save the new
 * continuation. A crash between the two re-reads a page (duplicates are harmless: the queue
 * dedupes and the sync reads current documents); it never skips one. A second worker waits on the
 * lease and takes over within `leaseMs` of the first one dying.
 *
 * The continuation is one token for every feed range, so a partition split, which replaces a
 * range by two, changes nothing here: the SDK carries the parent's position over to the children
 * (shared/cosmos/change-feed.ts).
 */
export async function runCapture(
  deps: CaptureDeps,
  options: CaptureOptions,
  signal: AbortSignal,
  counters?: CaptureCounters,
): Promise<void> {
  const { store, logger } = deps;
  const renewEvery = Math.max(100, Math.floor(options.leaseMs / 3));
  try {
    while (!signal.aborted) {
      if (!(await safely(() => store.acquire(options.leaseMs), logger))) {
        await sleep(renewEvery, signal);
        continue;
      }
      logger.info({ source: deps.name }, "change feed reader lease taken");
      try {
        await readWhileHolding(deps, options, signal, renewEvery, counters);
      } catch (error) {
        logger.warn({ source: deps.name, err: describeError(error) }, "change feed reading failed; retrying");
        await sleep(Math.min(options.pollMs * 4, 5000), signal);
      }
    }
  } finally {
    await store.release().catch(() => undefined);
  }
}

async function readWhileHolding(
  deps: CaptureDeps,
  options: CaptureOptions,
  signal: AbortSignal,
  renewEvery: number,
  counters?: CaptureCounters,
) {
  const { store, clock } = deps;
  let last = startingPoint(deps, await store.checkpoint());
  const reader = await deps.openFeed(last);
  let renewedAt = clock.now();

  while (!signal.aborted) {
    if (clock.now() - renewedAt >= renewEvery) {
      if (!(await store.acquire(options.leaseMs))) return lostLease(deps);
      renewedAt = clock.now();
    }
    const page = await reader.readNext();
    if (page.changes.length > 0) {
      const result = await deps.handle(page.changes, clock.now());
      if (counters) {
        counters.pages++;
        counters.changes += page.changes.length;
        counters.enqueued += result.enqueued;
      }
      if (result.skipped)
        deps.logger.warn({ source: deps.name, skipped: result.skipped }, "change records without a key");
    }
    if (page.continuation && page.continuation !== last) {
      if (!(await store.saveCheckpoint(page.continuation))) return lostLease(deps);
      last = page.continuation;
    }
    if (page.caughtUp) await sleep(options.pollMs, signal);
  }
}

/**
 * The saved continuation; else the per-range ones of an earlier version, merged (the first
 * continuation saved replaces them); else none, and the feed opens at the configured start: only
 * a source that never had a checkpoint starts from there.
 */
function startingPoint(deps: CaptureDeps, saved: SavedCheckpoint): string | undefined {
  if (saved.continuation !== undefined || saved.perRange.size === 0) return saved.continuation;
  const merged = deps.mergePerRange([...saved.perRange.values()]);
  deps.logger.info(
    { source: deps.name, ranges: merged.ranges, uncovered: merged.uncovered },
    "per-range change feed checkpoints of an earlier version merged into one continuation",
  );
  return merged.continuation;
}

function lostLease(deps: CaptureDeps) {
  deps.logger.warn({ source: deps.name }, "change feed reader lease lost; standing by");
}

async function safely(run: () => Promise<boolean>, logger: Logger): Promise<boolean> {
  try {
    return await run();
  } catch (error) {
    logger.warn({ err: describeError(error) }, "capture lease check failed");
    return false;
  }
}
