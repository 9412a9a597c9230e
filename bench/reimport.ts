import type { BenchContext } from "./context.js";
import { cpuMeter, type Cores } from "./cpu.js";
import { sleep } from "./measure.js";
import { startWorkerProcess } from "./worker-process.js";

/** One timed rebuild. */
export interface ReimportRun {
  /** Documents the job indexed (its progress so far when it did not finish). */
  readonly docs: number;
  readonly ms: number;
  readonly docsPerSec: number;
  /** Whether the job ended within ctx.sizes.reimportTimeoutSeconds. */
  readonly finished: boolean;
  readonly cores: Cores;
  /** Where the time went: the job's own phases (its view's `phaseMs`), and the rest (the POST, the pickup, the last poll). */
  readonly steps: RebuildSteps;
  /** Elasticsearch's own time on the new index (`_stats`): indexing, and refreshing, which a rebuild leaves to its end. */
  readonly es: { readonly indexingMs: number; readonly refreshMs: number } | undefined;
}

export interface RebuildSteps {
  readonly prepareMs: number | undefined;
  readonly scanMs: number | undefined;
  readonly swapMs: number | undefined;
  /** From the POST to the job's start, and from its end to the poll that saw it. */
  readonly outsideMs: number | undefined;
}

export interface Reimport {
  /** The untimed first rebuild of the worker, in ms. */
  readonly warmUpMs: number;
  /** Runs one timed rebuild. */
  round(): Promise<ReimportRun>;
  /** The worker's peak resident set so far (VmHWM), in MB: every rebuild ran in this one process. */
  peakRssMb(): Promise<number>;
  /** Stops the worker and drops its indices. */
  close(): Promise<void>;
}

interface JobView {
  readonly state?: string;
  readonly indexed?: number;
  readonly scanned?: number;
  readonly startedAt?: string | null;
  readonly finishedAt?: string | null;
  readonly targetIndex?: string;
  readonly phaseMs?: { readonly prepare?: number; readonly scan?: number; readonly swap?: number };
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * A worker process (`driftless worker`, as a user runs it) that reimports the seeded container
 * through the public contract: `POST /api/sources/{source}/reimport` with the rebuild mode (into a
 * new index, swapped in at the end), then `GET /api/jobs/{jobId}` until the job ends. Each
 * rebuild is timed from the POST to the job's end.
 *
 * The rebuilds the rounds time (rounds.ts, which pairs each with a side-by-side window) follow a
 * first, untimed one run here, the worker's warm-up, as a long-lived worker would have had (the
 * pipeline drains warm keys first for the same reason). A first rebuild after a start is slower,
 * with Elasticsearch using more CPU for the same documents: the raw bulk warm-up of the ceilings
 * does not run its code for creating, bulk-loading, refreshing and swapping an index. Both are
 * reported (figures in bench/results/history.md).
 */
export async function startReimport(ctx: BenchContext): Promise<Reimport> {
  const alias = `bench-reimport-${Date.now().toString(36)}`;
  await ctx.createAlias(alias);
  const env = ctx.env([ctx.source("bench", alias)], { CAPTURE_ENABLED: "false" });
  const worker = await startWorkerProcess(env, "reimport-worker").catch(async (error: unknown) => {
    await ctx.dropAlias(alias);
    throw error;
  });
  const close = async () => {
    await worker.stop();
    await ctx.dropAlias(alias);
  };
  try {
    const warmUp = await runJob(worker.url, ctx.sizes.reimportTimeoutSeconds);
    if (!warmUp.finished)
      throw new Error(
        `the warm-up rebuild did not finish within ${ctx.sizes.reimportTimeoutSeconds} s: ${JSON.stringify(warmUp.job)}`,
      );
    return {
      warmUpMs: Math.round(warmUp.ms),
      async round() {
        const meter = await cpuMeter({ worker: worker.pid, ...(await ctx.pids()) });
        const { docs, ms, finished, job } = await runJob(worker.url, ctx.sizes.reimportTimeoutSeconds);
        const cores = await meter.stop();
        return {
          docs,
          ms: Math.round(ms),
          docsPerSec: Math.round((docs / ms) * 1000),
          finished,
          cores,
          steps: steps(job, ms),
          es: await indexStats(ctx, job.targetIndex),
        };
      },
      peakRssMb: () => worker.peakRssMb(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

interface JobRun {
  readonly job: JobView;
  readonly ms: number;
  readonly docs: number;
  readonly finished: boolean;
}

/** Starts one rebuild and polls it until it ends or `timeoutSeconds` pass; a job that ends other than succeeded throws. */
async function runJob(url: string, timeoutSeconds: number): Promise<JobRun> {
  const started = performance.now();
  const deadline = started + timeoutSeconds * 1000;
  const response = await fetch(`${url}/sources/bench/reimport`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ mode: "rebuild" }),
  });
  const accepted = (await response.json()) as { jobId?: string };
  if (response.status !== 202 || !accepted.jobId)
    throw new Error(`reimport answered ${response.status}: ${JSON.stringify(accepted).slice(0, 300)}`);

  let job: JobView = {};
  for (;;) {
    // Polled often: at 20,000 documents the run lasts a few seconds, and each poll interval is up to that much error.
    await sleep(20);
    job = (await (await fetch(`${url}/jobs/${encodeURIComponent(accepted.jobId)}`)).json()) as JobView;
    if ((job.state && TERMINAL.has(job.state)) || performance.now() > deadline) break;
  }
  const ms = performance.now() - started;
  const finished = job.state !== undefined && TERMINAL.has(job.state);
  if (finished && job.state !== "succeeded")
    throw new Error(`the reimport ended ${job.state}: ${JSON.stringify(job).slice(0, 500)}`);
  return { job, ms, docs: job.indexed ?? job.scanned ?? 0, finished };
}

function steps(job: JobView, ms: number): RebuildSteps {
  const jobMs = job.startedAt && job.finishedAt ? Date.parse(job.finishedAt) - Date.parse(job.startedAt) : undefined;
  return {
    prepareMs: job.phaseMs?.prepare,
    scanMs: job.phaseMs?.scan,
    swapMs: job.phaseMs?.swap,
    outsideMs: jobMs === undefined ? undefined : Math.max(0, Math.round(ms - jobMs)),
  };
}

/** The new index's indexing and refresh time; it is the live index now, until the next rebuild replaces it. */
async function indexStats(ctx: BenchContext, index: string | undefined): Promise<ReimportRun["es"]> {
  if (!index) return undefined;
  const stats = await ctx.elastic.indices.stats({ index, metric: ["indexing", "refresh"] });
  const primaries = stats.indices?.[index]?.primaries;
  const indexingMs = primaries?.indexing?.index_time_in_millis;
  const refreshMs = primaries?.refresh?.total_time_in_millis;
  return indexingMs === undefined || refreshMs === undefined ? undefined : { indexingMs, refreshMs };
}
