import { sleep } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import { emptyReport, syncBatch, type BatchReport, type SyncDeps } from "./engine.js";

export interface DrainOptions {
  /** Stop claiming new batches after this long; batches already claimed finish. */
  readonly budgetMs: number;
  /** Batches in flight at once, so Cosmos reads of one overlap the bulk write of another. */
  readonly concurrency: number;
  /** Wait between polls of an empty queue. */
  readonly idlePollMs: number;
  /** Return as soon as the queue has nothing due, instead of polling until the budget ends. */
  readonly untilIdle?: boolean;
  readonly signal?: AbortSignal;
}

export interface DrainReport extends BatchReport {
  batches: number;
  errors: number;
}

/**
 * Runs batches until the time budget is spent (or the queue is idle, or the signal aborts).
 * A failing dependency does not end the drain: the error is logged, the loop backs off, and the
 * keys of the failed batch stay in flight until the reaper returns them.
 */
export async function drain(deps: SyncDeps, options: DrainOptions): Promise<DrainReport> {
  const deadline = deps.clock.now() + options.budgetMs;
  const total: DrainReport = { ...emptyReport(), batches: 0, errors: 0 };
  const timeLeft = () => !options.signal?.aborted && deps.clock.now() < deadline;

  const loop = async () => {
    let failures = 0;
    while (timeLeft()) {
      try {
        const report = await syncBatch(deps);
        failures = 0;
        if (report.claimed === 0) {
          if (options.untilIdle) return;
          await sleep(Math.min(options.idlePollMs, Math.max(0, deadline - deps.clock.now())), options.signal);
          continue;
        }
        total.batches++;
        add(total, report);
      } catch (error) {
        total.errors++;
        failures++;
        deps.logger.error({ source: deps.source.name, err: describeError(error) }, "sync batch failed");
        await sleep(Math.min(100 * 2 ** failures, 5000), options.signal);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return total;
}

function add(total: BatchReport, report: BatchReport) {
  total.claimed += report.claimed;
  total.indexed += report.indexed;
  total.deleted += report.deleted;
  total.retried += report.retried;
  total.deadLettered += report.deadLettered;
  total.stale += report.stale;
}
