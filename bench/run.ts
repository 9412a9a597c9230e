/**
 * `make bench`: one run that starts the local stack (or uses the services given in the
 * environment, as the tests do), seeds ~1 KB documents into Cosmos once, and measures on them:
 * the two ceilings side by side, the driftless pipeline, two hand-written baselines, the queue
 * alone, the HTTP producer, freshness through the change feed, and a reimport. Writes
 * bench/results/latest.json and prints a table.
 *
 * QUICK=1 sizes everything to finish within 3 minutes. BENCH_ONLY=ceilings,pipeline,… runs a
 * subset (ratios need the ceilings). BENCH_PROFILE=1 writes .cpuprofile files of the pipeline and
 * worker processes to bench/results/profiles (summarize them with bench/profile-top.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { measureBaselines } from "./baselines.js";
import { measureCeilings } from "./ceilings.js";
import { createContext } from "./context.js";
import { formatCores, waitForQuiet } from "./cpu.js";
import { measureFreshness } from "./freshness.js";
import { measureHttp } from "./http.js";
import { round } from "./measure.js";
import { measurePipeline } from "./pipeline.js";
import { measureQueue } from "./queue.js";
import { measureReimport } from "./reimport.js";
import { atLeast, atMost, fmt, table } from "./report.js";
import { seed } from "./seed.js";
import { FULL, QUICK } from "./sizes.js";

const quick = ["1", "true", "yes"].includes(process.env.QUICK ?? "");
const sizes = quick ? QUICK : FULL;
const only = new Set((process.env.BENCH_ONLY ?? "").split(",").filter(Boolean));
const wanted = (phase: string) => only.size === 0 || only.has(phase);
const log = (line: string) => console.log(line);
const phaseSeconds: Record<string, number> = {};
/** How long each phase waited for the machine to go quiet before it started (cpu.ts waitForQuiet). */
const quietWaitMs: Record<string, number> = {};
/** Runs one measurement if it was asked for, logging its title and how long it took. */
async function phase<T>(name: string, title: string, measure: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) return undefined;
  log(`${title}:`);
  const quietMs = await waitForQuiet();
  quietWaitMs[name] = quietMs;
  if (quietMs > 1000) log(`  (waited ${(quietMs / 1000).toFixed(1)} s for the machine to go quiet)`);
  const started = performance.now();
  try {
    return await measure();
  } finally {
    phaseSeconds[name] = Math.round((performance.now() - started) / 100) / 10;
    log(`  (${phaseSeconds[name]} s)`);
  }
}
const startedAt = Date.now();
const loadBefore = loadavg();

const dir = await mkdtemp(join(tmpdir(), "driftless-bench-"));
log(`driftless bench (${quick ? "QUICK" : "full"}): starting the local stack …`);
const ctx = await createContext(dir, quick, sizes);
try {
  phaseSeconds.stack = Math.round((Date.now() - startedAt) / 100) / 10;
  log(`stack ready in ${phaseSeconds.stack} s; seeding ${sizes.docs} documents …`);
  const seeded = await seed(ctx.container, 0, sizes.docs);
  log(`  seeded at ${seeded.perSec} docs/s (bulk upserts)`);

  const ceilings = await phase("ceilings", "ceilings", () => measureCeilings(ctx, log));
  // The sync history (one event per synced change, written to Elasticsearch) is an optional
  // feature that adds a second, smaller bulk write per batch to the same Elasticsearch. The core
  // pipeline, which the ceilings and baselines compare with, runs without it; its cost is
  // measured on its own below.
  const pipeline = await phase("pipeline", "driftless pipeline (sync history off)", async () => {
    const result = await measurePipeline(ctx, { SYNC_EVENTS_ENABLED: "false" });
    log(`  ${result.docsPerSec} docs/s, worker CPU ${result.cpuMsPer1kDocs} ms per 1000 documents, peak RSS ${result.maxRssMb} MB`);
    if (result.cores) log(`  cores: ${formatCores(result.cores)}`);
    if (!result.complete) log(`  only ${result.docs} of ${sizes.pipelineDocs} documents reached the index (${JSON.stringify(result.report)})`);
    return result;
  });
  const withHistory = await phase("pipeline-history", "driftless pipeline with the sync history on (the default)", async () => {
    const result = await measurePipeline(ctx);
    log(`  ${result.docsPerSec} docs/s, worker CPU ${result.cpuMsPer1kDocs} ms per 1000 documents`);
    return result;
  });
  const baselines = await phase("baselines", "baselines", () => measureBaselines(ctx, log));
  const queue = await phase("queue", "queue alone", () => measureQueue(ctx, log));
  const http = await phase("http", "HTTP producer (worker mode, autocannon)", () => measureHttp(ctx, log));
  const freshness = await phase("freshness", "freshness through the change feed", () => measureFreshness(ctx, log));
  const reimport = await phase("reimport", "reimport", () => measureReimport(ctx, ceilings?.es.perSec ?? Number.NaN, log));
  if (reimport && "pending" in reimport) log(`  pending: ${reimport.pending}`);

  const es = ceilings?.es.perSec;
  const cosmos = ceilings?.cosmos.perSec;
  const lower = es !== undefined && cosmos !== undefined ? Math.min(es, cosmos) : undefined;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b) : null);
  const done = reimport && !("pending" in reimport) ? reimport : undefined;

  const results = {
    esBulkCeilingDocsPerSec: es ?? null,
    cosmosReadCeilingDocsPerSec: cosmos ?? null,
    pipelineDocsPerSec: pipeline?.docsPerSec ?? null,
    pipelineToCeiling: ratio(pipeline?.docsPerSec, lower),
    /** Stricter: against Elasticsearch's best rate with nothing else running (the sweep), not side by side with the Cosmos loop. */
    pipelineToEsAlone: ratio(pipeline?.docsPerSec, ceilings?.esAlone),
    esBulkAloneDocsPerSec: ceilings?.esAlone ?? null,
    cosmosReadAloneDocsPerSec: ceilings?.cosmosAlone ?? null,
    pipelineWithHistoryDocsPerSec: withHistory?.docsPerSec ?? null,
    /** What the sync history costs: the pipeline with it on ÷ with it off. */
    historyOnToOff: ratio(withHistory?.docsPerSec, pipeline?.docsPerSec),
    pipelineToPerDoc: ratio(pipeline?.docsPerSec, baselines?.perDoc.perSec),
    pipelineToHelpersBulk: ratio(pipeline?.docsPerSec, baselines?.helpersBulk.perSec),
    perDocBaselineDocsPerSec: baselines?.perDoc.perSec ?? null,
    helpersBulkDocsPerSec: baselines?.helpersBulk.perSec ?? null,
    workerCpuMsPer1kDocs: pipeline?.cpuMsPer1kDocs ?? null,
    /** The helpers.bulk loop's own CPU (the bench process), against workerCpuMsPer1kDocs. */
    helpersBulkCpuMsPer1kDocs: baselines?.helpersBulk.cpuMsPer1kDocs ?? null,
    queueClaimAckKeysPerSec: queue?.claimAck.perSec ?? null,
    queueEnqueueKeysPerSec: queue?.enqueue.perSec ?? null,
    httpEnqueue: http
      ? {
          requestsPerSec: http.single.requestsPerSec,
          keysPerSec: http.batched.keysPerSec,
          p50Ms: http.single.p50Ms,
          p90Ms: http.single.p90Ms,
          p99Ms: http.single.p99Ms,
          single: http.single,
          batched: http.batched,
        }
      : null,
    freshness: freshness ?? null,
    reimport: reimport ?? null,
    details: {
      seedDocsPerSec: seeded.perSec,
      ceilings: ceilings
        ? { esBest: ceilings.esBest, cosmosBest: ceilings.cosmosBest, sideBySideCores: ceilings.cores, esSweep: ceilings.esSweep, cosmosSweep: ceilings.cosmosSweep }
        : null,
      pipeline: pipeline
        ? { docs: pipeline.docs, complete: pipeline.complete, ms: Math.round(pipeline.ms), cores: pipeline.cores, report: pipeline.report, maxRssMb: pipeline.maxRssMb }
        : null,
      baselines: baselines ?? null,
    },
    run: {
      at: new Date(startedAt).toISOString(),
      quick,
      seconds: Math.round((Date.now() - startedAt) / 1000),
      phaseSeconds,
      quietWaitMs,
      documents: sizes.docs,
      cores: cpus().length,
      // Absolute numbers move with the host's CPU: name it, with its clock where the machine reports one.
      cpu: await cpuName(),
      node: process.version,
      loadAverageBefore: loadBefore.map((value) => round(value)),
      loadAverageAfter: loadavg().map((value) => round(value)),
    },
  };
  const targets = {
    pipelineToCeiling: atLeast(results.pipelineToCeiling, 0.9),
    pipelineToPerDoc: atLeast(results.pipelineToPerDoc, 5),
    pipelineToHelpersBulk: atLeast(results.pipelineToHelpersBulk, 1),
    httpSingleRequestsPerSec: atLeast(http?.single.requestsPerSec, 10_000),
    httpSingleP99Ms: atMost(http?.single.p99Ms, 25),
    httpBatchedKeysPerSec: atLeast(http?.batched.keysPerSec, 100_000),
    freshnessP99Ms: atMost(freshness?.p99Ms, 3000),
    reimportToEsCeiling: atLeast(done?.toEsCeiling, 0.8),
    reimportPeakRssMb: atMost(done?.peakRssMb, 300),
  };
  await mkdir(join("bench", "results"), { recursive: true });
  await writeFile(join("bench", "results", "latest.json"), `${JSON.stringify({ ...results, targets }, null, 2)}\n`);

  const rows: [string, string, (typeof targets)[keyof typeof targets] | undefined][] = [
    ["pipeline ÷ lower ceiling", fmt(results.pipelineToCeiling, 2), targets.pipelineToCeiling],
    ["pipeline ÷ es alone (stricter)", fmt(results.pipelineToEsAlone, 2), undefined],
    ["pipeline ÷ per-document baseline", fmt(results.pipelineToPerDoc, 1), targets.pipelineToPerDoc],
    ["pipeline ÷ helpers.bulk", fmt(results.pipelineToHelpersBulk, 2), targets.pipelineToHelpersBulk],
    ["pipeline with sync history ÷ without", fmt(results.historyOnToOff, 2), undefined],
    ["reimport ÷ es ceiling", done ? fmt(done.toEsCeiling, 2) : "pending", targets.reimportToEsCeiling],
    ["", "", undefined],
    ["es bulk ceiling, side by side (docs/s)", fmt(es), undefined],
    ["cosmos read ceiling, side by side (docs/s)", fmt(cosmos), undefined],
    ["es bulk alone / cosmos reads alone (docs/s)", `${fmt(ceilings?.esAlone)} / ${fmt(ceilings?.cosmosAlone)}`, undefined],
    ["driftless pipeline (docs/s)", fmt(results.pipelineDocsPerSec), undefined],
    ["driftless pipeline, sync history on (docs/s)", fmt(results.pipelineWithHistoryDocsPerSec), undefined],
    ["per-document baseline (docs/s)", fmt(results.perDocBaselineDocsPerSec), undefined],
    ["helpers.bulk baseline (docs/s)", fmt(results.helpersBulkDocsPerSec), undefined],
    ["worker CPU per 1000 docs (ms)", fmt(results.workerCpuMsPer1kDocs, 1), undefined],
    ["helpers.bulk loop CPU per 1000 docs (ms)", fmt(results.helpersBulkCpuMsPer1kDocs, 1), undefined],
    ["queue enqueue (keys/s)", fmt(results.queueEnqueueKeysPerSec), undefined],
    ["queue claim + ack (keys/s)", fmt(results.queueClaimAckKeysPerSec), undefined],
    ["HTTP single-key (req/s)", fmt(http?.single.requestsPerSec), targets.httpSingleRequestsPerSec],
    ["HTTP single-key p50 / p90 / p99 (ms)", http ? `${http.single.p50Ms} / ${http.single.p90Ms} / ${http.single.p99Ms}` : "n/a", targets.httpSingleP99Ms],
    ["HTTP batched (keys/s)", fmt(http?.batched.keysPerSec), targets.httpBatchedKeysPerSec],
    ["HTTP batched p50 / p90 / p99 (ms)", http ? `${http.batched.p50Ms} / ${http.batched.p90Ms} / ${http.batched.p99Ms}` : "n/a", undefined],
    ["freshness p50 / p99 (ms)", freshness ? `${freshness.p50Ms} / ${freshness.p99Ms}` : "n/a", targets.freshnessP99Ms],
    ["reimport (docs/s)", done ? fmt(done.docsPerSec) : "pending", undefined],
    ["reimport worker peak RSS (MB)", done ? fmt(done.peakRssMb) : "pending", targets.reimportPeakRssMb],
  ];
  log(`\n${table(rows)}\n`);
  log(`absolute numbers are this machine's (${cpus().length} cores, ${results.run.cpu}, load ${results.run.loadAverageBefore.join(" ")} before the run); bench/results/latest.json has the details (${results.run.seconds} s).`);
} finally {
  await ctx.close();
  await rm(dir, { recursive: true, force: true });
}

/** The CPU's model and clock; os.cpus() says 0 MHz in some VMs, where /proc/cpuinfo still knows. */
async function cpuName(): Promise<string> {
  const info = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? cpus()[0]?.speed ?? 0);
  return `${cpus()[0]?.model ?? "unknown CPU"}${mhz > 0 ? ` at ${Math.round(mhz)} MHz` : ""}`;
}
