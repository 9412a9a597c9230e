import { randomUUID } from "node:crypto";
import { ROOT_CONTEXT, type Context } from "@opentelemetry/api";
import { DriftlessError, describeError } from "../core/errors.js";
import { failSpan, noopTracer } from "../telemetry/spans.js";
import { ChunkContext, LeaseLostError, type JobDeps } from "./context.js";
import { reconcileStep } from "./reconcile.js";
import { abandonRebuild } from "./rebuild.js";
import { reimportStep } from "./reimport.js";
import { isTerminal } from "./store.js";
import type { ChunkOptions, ChunkResult } from "./types.js";

/**
 * One chunk of work on one job: take the job's lease (one runner per source and kind), then
 * step through it (prepare, pages, finish) until the job ends, the budget is spent, the page limit
 * is reached or the signal aborts. Every step commits its progress with the lease check, so a
 * chunk can stop anywhere and the next one (here or in another process) resumes from the last
 * commit. Worker mode calls this in a loop, the Functions jobs timer once per tick, the CLI while
 * it waits.
 *
 * The lease is renewed while the chunk runs; a runner that loses it (paused past its lease) stops
 * without touching the job.
 */
export async function runJobChunk(
  deps: JobDeps,
  jobId: string,
  budgetMs: number,
  options: ChunkOptions = {},
): Promise<ChunkResult> {
  const job = await deps.store.get(jobId);
  if (!job || isTerminal(job.state)) return { job, ran: false };
  const token = randomUUID();
  const { leaseMs } = deps.options;
  if (!(await deps.store.acquire(job, token, leaseMs))) return { job, ran: false };

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const renew = setInterval(
    () => {
      deps.store.acquire(job, token, leaseMs).then(
        (held) => {
          if (!held) stop.abort();
        },
        (error: unknown) => deps.logger.warn({ job: jobId, err: describeError(error) }, "job lease renewal failed"),
      );
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );

  const source = deps.sources.get(job.source);
  const ctx = source
    ? new ChunkContext(
        deps,
        job,
        source,
        token,
        deps.clock.now() + budgetMs,
        stop.signal,
        options.maxPages ?? Number.POSITIVE_INFINITY,
      )
    : undefined;
  try {
    if (!ctx) {
      // The job's source is no longer configured: nothing can run it.
      await deps.store.finish(job, token, "failed", deps.clock.now(), `source "${job.source}" is not configured`);
    } else {
      await work(ctx, options.parent ?? ROOT_CONTEXT);
    }
  } catch (error) {
    if (error instanceof LeaseLostError) deps.logger.warn({ job: jobId }, "job lease lost; another runner continues");
    else if (ctx) await recordFailure(ctx, error);
    else throw error;
  } finally {
    clearInterval(renew);
    options.signal?.removeEventListener("abort", onAbort);
    // Free the job at once for the next chunk, which may run in another process.
    await deps.store.release(job, token).catch(() => undefined);
  }
  return { job: await deps.store.get(jobId), ran: true };
}

async function work(ctx: ChunkContext, parent: Context): Promise<void> {
  while (ctx.canContinue()) {
    const job = await ctx.reload();
    if (isTerminal(job.state)) return;
    // Past the swap a rebuild is as good as done: a cancel then changes nothing.
    if (job.cancelRequested && job.phase !== "swap") return cancel(ctx);
    if (job.state === "queued") {
      await ctx.commit({ state: "running", startedAt: ctx.now, phase: "prepare" }, {}, "queued");
      ctx.logger.info({ job: job.id, source: job.source, kind: job.kind, mode: job.mode }, "job started");
      continue;
    }
    const ended = await tracedStep(ctx, parent, () =>
      job.kind === "reimport" ? reimportStep(ctx) : reconcileStep(ctx),
    );
    if (ended) {
      ctx.logger.info(
        { job: job.id, state: ctx.job.state, scanned: ctx.job.scanned, enqueued: ctx.job.enqueued },
        "job ended",
      );
      return;
    }
  }
}

/**
 * One step as a span under `parent`: `driftless.job.page` in the scan phase, where every step is
 * one page (`driftless.job.docs`: the entries it read), `driftless.job.prepare` or
 * `driftless.job.swap` otherwise. Ids and counts only: no keys, no documents.
 */
async function tracedStep(ctx: ChunkContext, parent: Context, step: () => Promise<boolean>): Promise<boolean> {
  const { job } = ctx;
  const span = (ctx.deps.tracer ?? noopTracer).startSpan(
    job.phase === "scan" ? "driftless.job.page" : `driftless.job.${job.phase}`,
    {
      attributes: {
        "driftless.job.id": job.id,
        "driftless.job.kind": job.kind,
        "driftless.source": job.source,
        ...(job.mode ? { "driftless.job.mode": job.mode } : {}),
      },
    },
    parent,
  );
  try {
    return await step();
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    // A page that failed before its commit read nothing that counts: 0.
    span.setAttribute("driftless.job.docs", ctx.job.scanned - job.scanned);
    span.end();
  }
}

async function cancel(ctx: ChunkContext): Promise<void> {
  await cleanUp(ctx);
  await ctx.finish("cancelled");
  ctx.logger.info({ job: ctx.job.id }, "job cancelled");
}

/** What a job leaves behind when it ends early: a rebuild's new index, a reconcile's point in time. */
async function cleanUp(ctx: ChunkContext): Promise<void> {
  const { job } = ctx;
  if (job.kind === "reimport" && job.mode === "rebuild") await abandonRebuild(ctx);
  if (job.kind === "reconcile" && job.continuation) {
    const position = JSON.parse(job.continuation) as { pit?: string };
    if (position.pit) await ctx.search.indexScanner.close(position.pit);
  }
}

/**
 * A step failed. A failure that cannot pass (a missing alias, refused credentials) fails the job
 * at once; anything else is counted, and the job fails only after `maxFailures` in a row. The
 * page is tried again by the next chunk, after a backoff that keeps a worker from spinning.
 */
async function recordFailure(ctx: ChunkContext, error: unknown): Promise<void> {
  const message = describeError(error);
  const permanent = error instanceof DriftlessError && !error.retryable;
  const failures = ctx.job.failures + 1;
  ctx.logger.warn({ job: ctx.job.id, failures, err: message }, "job step failed");
  try {
    if (permanent || failures >= ctx.deps.options.maxFailures) {
      await cleanUp(ctx).catch((cleanupError: unknown) =>
        ctx.logger.error({ job: ctx.job.id, err: describeError(cleanupError) }, "job clean-up failed"),
      );
      await ctx.finish("failed", message);
      return;
    }
    await ctx.commit({ failures, lastError: message }, { errors: 1 });
    await ctx.pause(Math.min(1000 * 2 ** (failures - 1), 30_000));
  } catch (secondary) {
    if (!(secondary instanceof LeaseLostError)) {
      ctx.logger.error({ job: ctx.job.id, err: describeError(secondary) }, "could not record the job's failure");
    }
  }
}
