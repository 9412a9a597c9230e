import type { Context } from "@opentelemetry/api";
import type { DeadLetterMirror } from "../deadletters/mirror.js";
import { drain, type DrainReport } from "./drain.js";
import type { SyncDeps } from "./types.js";

export interface SyncPassTarget {
  readonly sources: ReadonlyMap<string, { readonly sync: SyncDeps; readonly deadLetterMirror?: DeadLetterMirror }>;
  readonly config: { readonly sync: { readonly concurrency: number; readonly idlePollMs: number } };
}

export interface SyncPassOptions {
  readonly budgetMs: number;
  readonly untilIdle?: boolean;
  readonly signal?: AbortSignal;
  /** Drain only these sources (a work ticket names one). @defaultValue every source */
  readonly only?: readonly string[];
  /** The invocation's trace context: the pass's batch spans become its children. */
  readonly parent?: Context;
}

/**
 * One pass over every source: return expired leases to the queue, drain each source in
 * parallel within the budget, then mirror new dead letters (when Service Bus is configured). This is the timer function's whole job; worker mode runs the same
 * drain continuously.
 */
export async function runSyncPass(
  target: SyncPassTarget,
  options: SyncPassOptions,
): Promise<Record<string, DrainReport & { reaped: number; mirrored: number }>> {
  const entries = await Promise.all(
    [...target.sources]
      .filter(([name]) => !options.only || options.only.includes(name))
      .map(async ([name, { sync, deadLetterMirror }]) => {
        const reaped = await sync.queue.reap(sync.clock.now());
        const report = await drain(sync, {
          budgetMs: options.budgetMs,
          concurrency: target.config.sync.concurrency,
          idlePollMs: target.config.sync.idlePollMs,
          untilIdle: options.untilIdle,
          signal: options.signal,
          parent: options.parent,
        });
        const mirrored = (await deadLetterMirror?.tick()) ?? 0;
        return [name, { ...report, reaped: reaped.requeued, mirrored }] as const;
      }),
  );
  return Object.fromEntries(entries);
}
