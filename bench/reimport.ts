import type { Window } from "./ceilings.js";
import type { BenchContext } from "./context.js";
import { cpuMeter, formatCores, waitForQuiet, type Cores } from "./cpu.js";
import { round, sleep } from "./measure.js";
import { startWorkerProcess, WORKER_NODE_FLAGS } from "./worker-process.js";

export type ReimportResult =
  | {
      readonly docs: number;
      readonly docsPerSec: number;
      /** Against the side-by-side Elasticsearch ceiling measured right before the timed rebuild. */
      readonly toEsCeiling: number;
      readonly esCeilingDocsPerSec: number;
      readonly peakRssMb: number;
      readonly mode: string;
      readonly ms: number;
      /** The untimed first rebuild of the same worker (its warm-up), for comparison. */
      readonly warmUpMs: number;
      readonly cores: Cores;
      /** The worker's Node.js flags: its heap cap decides how far its resident set grows (worker-process.ts). */
      readonly workerNodeFlags: string;
      /** Set when the job had not finished within the time limit: the rate is its progress so far. */
      readonly incomplete?: string;
    }
  | { readonly pending: string };

interface JobView {
  readonly state?: string;
  readonly indexed?: number;
  readonly scanned?: number;
  readonly error?: unknown;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * A reimport of the seeded container through the public contract, in worker mode:
 * `POST /api/sources/{source}/reimport` (a rebuild into a new index where the API takes a mode),
 * then `GET /api/jobs/{jobId}` until it ends. Timed from the POST to the job's end; the peak
 * resident set of the worker process (VmHWM) is its memory bound. Pending, with the reason, when
 * the worker has no reimport route yet.
 *
 * The timed rebuild is the worker's second: the first, untimed, is its warm-up, as a long-lived
 * worker would have had (the pipeline drains warm keys first for the same reason). A first rebuild
 * after a start ran 3.3–3.7 s here where the next ones ran 2.5–3.0 s, with Elasticsearch using
 * about twice the CPU for the same 20,000 documents: the raw bulk warm-up of the ceilings does
 * not run its code for creating, bulk-loading, refreshing and swapping an index. Both are reported.
 *
 * `ceiling` measures a side-by-side window of the raw loops (ceilings.ts); it runs between the two
 * rebuilds, so that the timed one is compared with Elasticsearch's ceiling of that moment, as the
 * pipeline's rounds are (rounds.ts). Without it, the ratio is NaN.
 */
export async function measureReimport(ctx: BenchContext, ceiling: (() => Promise<Window>) | undefined, log: (line: string) => void): Promise<ReimportResult> {
  const alias = `bench-reimport-${Date.now().toString(36)}`;
  await ctx.createAlias(alias);
  const env = ctx.env([ctx.source("bench", alias)], { CAPTURE_ENABLED: "false" });
  const worker = await startWorkerProcess(env, "reimport-worker");
  try {
    const post = (body: unknown) =>
      fetch(`${worker.url}/sources/bench/reimport`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const deadline = () => performance.now() + ctx.sizes.reimportTimeoutSeconds * 1000;
    const warmUp = await runJob(worker.url, post, deadline());
    if ("pending" in warmUp) return warmUp;
    if (!warmUp.finished) throw new Error(`the warm-up reimport did not finish: ${JSON.stringify(warmUp.job).slice(0, 500)}`);
    log(`  warm-up rebuild (untimed): ${warmUp.docs} documents in ${Math.round(warmUp.ms)} ms`);
    let esCeiling = Number.NaN;
    if (ceiling) {
      await waitForQuiet();
      const window = await ceiling();
      esCeiling = window.es.perSec;
      log(`  side by side right after it: es ${window.es.perSec} docs/s, cosmos ${window.cosmos.perSec} docs/s (cores: ${formatCores(window.cores)})`);
    }
    await waitForQuiet();

    const meter = await cpuMeter({ worker: worker.pid, ...(await ctx.pids()) });
    const run = await runJob(worker.url, post, deadline());
    const cores = await meter.stop();
    if ("pending" in run) return run;
    const { docs, ms, finished, job, mode } = run;
    const docsPerSec = Math.round((docs / ms) * 1000);
    const result = {
      docs,
      docsPerSec,
      toEsCeiling: round(docsPerSec / esCeiling),
      esCeilingDocsPerSec: esCeiling,
      peakRssMb: await worker.peakRssMb(),
      mode,
      ms: Math.round(ms),
      warmUpMs: Math.round(warmUp.ms),
      cores,
      workerNodeFlags: WORKER_NODE_FLAGS.join(" "),
      ...(finished ? {} : { incomplete: `still ${job.state ?? "running"} after ${ctx.sizes.reimportTimeoutSeconds} s: ${docs} of ${ctx.sizes.reimportDocs} documents` }),
    };
    log(
      `  ${docs} documents (${mode}): ${docsPerSec} docs/s, ${result.toEsCeiling}× the es ceiling, worker peak RSS ${result.peakRssMb} MB` +
        (result.incomplete ? ` (${result.incomplete})` : "") +
        ` (cores: ${formatCores(cores)})`,
    );
    return result;
  } finally {
    await worker.stop();
    await ctx.dropAlias(alias);
  }
}

interface JobRun {
  readonly job: JobView;
  readonly mode: string;
  readonly ms: number;
  readonly docs: number;
  readonly finished: boolean;
}

/** Starts one reimport (a rebuild where the API takes a mode) and polls it until it ends or `deadline` passes. */
async function runJob(url: string, post: (body: unknown) => Promise<Response>, deadline: number): Promise<JobRun | { readonly pending: string }> {
  const started = performance.now();
  let mode = "rebuild";
  let response = await post({ mode });
  if (response.status === 400) {
    mode = "default";
    response = await post({});
  }
  if (response.status === 404 || response.status === 405) {
    return { pending: `the worker has no reimport route yet (POST /api/sources/{source}/reimport answered ${response.status})` };
  }
  const accepted = (await response.json()) as { jobId?: string };
  if (response.status !== 202 || !accepted.jobId) throw new Error(`reimport answered ${response.status}: ${JSON.stringify(accepted).slice(0, 300)}`);

  let job: JobView = {};
  for (;;) {
    // Polled often: at 20,000 documents the run lasts a few seconds, and each poll interval is up to that much error.
    await sleep(50);
    job = (await (await fetch(`${url}/jobs/${encodeURIComponent(accepted.jobId)}`)).json()) as JobView;
    if ((job.state && TERMINAL.has(job.state)) || performance.now() > deadline) break;
  }
  const ms = performance.now() - started;
  const finished = job.state !== undefined && TERMINAL.has(job.state);
  if (finished && job.state !== "succeeded") throw new Error(`the reimport ended ${job.state}: ${JSON.stringify(job).slice(0, 500)}`);
  return { job, mode, ms, docs: job.indexed ?? job.scanned ?? 0, finished };
}
