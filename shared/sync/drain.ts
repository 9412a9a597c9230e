import type { Context } from "@opentelemetry/api";
import { sleep } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import { isPause, type DependencyPause } from "../resilience/errors.js";
import { syncBatch } from "./engine.js";
import { emptyReport, type BatchReport } from "./report.js";
import type { SyncDeps } from "./types.js";

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
  /** The trace context the batch spans are children of (a timer invocation's); without it each batch is a trace of its own. */
  readonly parent?: Context;
}

export interface DrainReport extends Omit<BatchReport, "pause"> {
  batches: number;
  errors: number;
  /** Times a loop waited because a dependency asked it to (open circuit, 429, outage). */
  pauses: number;
  /**
   * When the budget ended a pause before the time the dependency asked for, that time (clock ms):
   * the caller that drains again waits until then, so a drain window's end never shortens a pause.
   */
  resumeAt?: number;
}

/**
 * Runs batches until the time budget is spent (or the queue is idle, or the signal aborts).
 * Neither a paused nor a failing dependency ends the drain: a pause (the batch released its keys)
 * waits as long as the dependency asked, an error is logged and backed off; the keys of a batch
 * that failed before settling stay in flight until the reaper returns them.
 */
export async function drain(deps: SyncDeps, options: DrainOptions): Promise<DrainReport> {
  const deadline = deps.clock.now() + options.budgetMs;
  const total: DrainReport = { ...emptyReport(), batches: 0, errors: 0, pauses: 0 };
  const timeLeft = () => !options.signal?.aborted && deps.clock.now() < deadline;
  const wait = (ms: number) => sleep(Math.min(ms, Math.max(0, deadline - deps.clock.now())), options.signal);
  const pauseFor = (pause: DependencyPause) => {
    total.pauses++;
    const until = deps.clock.now() + Math.max(pause.retryAfterMs, options.idlePollMs);
    if (until > deadline) total.resumeAt = Math.max(total.resumeAt ?? 0, until);
    return wait(until - deps.clock.now());
  };

  const loop = async () => {
    let failures = 0;
    while (timeLeft()) {
      let report: BatchReport;
      try {
        report = await syncBatch(deps, options.parent);
        failures = 0;
      } catch (error) {
        // An open Redis circuit refuses the claim itself: nothing was claimed, just wait.
        if (isPause(error)) {
          await pauseFor(error);
          continue;
        }
        total.errors++;
        failures++;
        deps.logger.error({ source: deps.source.name, err: describeError(error) }, "sync batch failed");
        await wait(Math.min(100 * 2 ** failures, 5000));
        continue;
      }
      if (report.claimed > 0) {
        total.batches++;
        add(total, report);
      }
      if (report.pause) {
        await pauseFor(report.pause);
      } else if (report.claimed === 0) {
        if (options.untilIdle) return;
        await wait(options.idlePollMs);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return total;
}

function add(total: DrainReport, report: BatchReport) {
  total.claimed += report.claimed;
  total.indexed += report.indexed;
  total.deleted += report.deleted;
  total.retried += report.retried;
  total.deadLettered += report.deadLettered;
  total.stale += report.stale;
  total.released += report.released;
}
