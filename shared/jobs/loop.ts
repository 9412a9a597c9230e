import { sleep } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { Logger } from "../telemetry/logger.js";
import { isTerminal } from "./store.js";
import type { JobsService } from "./types.js";

export interface JobLoopOptions {
  /** How often the loop looks for queued jobs and for jobs whose runner died (JOBS_POLL_MS). */
  readonly pollMs: number;
  /** Length of one chunk; the lease is given up and taken again between chunks. @defaultValue 60000 */
  readonly chunkMs?: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * Worker mode's job runner: picks up queued jobs, and running ones whose runner died once their
 * lease has expired, and works each in chunks until it ends. Resolves after the signal aborts and
 * the chunks in progress have committed their last page.
 */
export async function runJobLoop(
  jobs: JobsService,
  { pollMs, chunkMs = 60_000, logger, signal }: JobLoopOptions,
): Promise<void> {
  const running = new Map<string, Promise<void>>();
  const work = async (jobId: string) => {
    try {
      while (!signal.aborted) {
        const { job, ran } = await jobs.runChunk(jobId, chunkMs, { signal });
        // Not ours (another runner holds it) or over: the next poll looks again.
        if (!ran || !job || isTerminal(job.state)) return;
      }
    } catch (error) {
      logger.warn({ job: jobId, err: describeError(error) }, "job chunk failed; the next poll tries again");
    } finally {
      running.delete(jobId);
    }
  };
  // A job queued through this process (its HTTP API) ends the wait at once; others are found by the poll.
  let wake: (() => void) | undefined;
  const unsubscribe = jobs.onQueued(() => wake?.());
  while (!signal.aborted) {
    try {
      for (const jobId of await jobs.activeJobIds()) {
        if (!running.has(jobId)) running.set(jobId, work(jobId));
      }
    } catch (error) {
      logger.warn({ err: describeError(error) }, "looking for jobs failed; will try again");
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      void sleep(pollMs, signal).then(resolve);
    });
    wake = undefined;
  }
  unsubscribe();
  await Promise.all(running.values());
}
