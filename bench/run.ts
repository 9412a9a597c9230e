/**
 * `make bench`: one run that starts the local stack (or uses the services given in the
 * environment, as the tests do), seeds ~1 KB documents into Cosmos once, and measures on them:
 * each end's ceiling alone (a sweep), then rounds of the two ceilings side by side, the driftless
 * pipeline (without and with the sync history), helpers.bulk and a rebuilding reimport
 * (rounds.ts), the per-document baseline, the
 * queue alone, the HTTP producer and freshness through the change feed, in worker mode and
 * through the Functions handlers (functions-freshness.ts). Writes
 * bench/results/latest.json and prints a table; a run of every phase also writes
 * bench/results/latest.md and adds its row to bench/results/history.md (results-files.ts).
 *
 * QUICK=1 sizes everything to finish within 3 minutes. BENCH_ONLY=ceilings,pipeline,… runs a
 * subset (ratios need the ceilings).
 * Before each phase and each measurement of a round it times a fixed piece of CPU work
 * (host-speed.ts), which says how fast the host ran when that figure was taken.
 * BENCH_PROFILE=1 writes .cpuprofile files of the pipeline and worker processes to
 * bench/results/profiles (summarize them with bench/profile-top.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createBaselines, parseLoopLanes } from "./baselines.js";
import { sweepCeilings } from "./ceilings.js";
import { createContext } from "./context.js";
import { formatCores, waitForQuiet } from "./cpu.js";
import { measureFreshness } from "./freshness.js";
import { measureFunctionsFreshness } from "./functions-freshness.js";
import { hostProbeMs } from "./host-speed.js";
import { measureHttp } from "./http.js";
import { median, round } from "./measure.js";
import { startPipeline, type Pipeline } from "./pipeline.js";
import { measureQueue } from "./queue.js";
import { startReimport, type Reimport, type ReimportRun } from "./reimport.js";
import { measureRounds, type Round } from "./rounds.js";
import { atLeast, atMost, fmt, table } from "./report.js";
import { appendHistory, historyRow, latestMarkdown } from "./results-files.js";
import { seed } from "./seed.js";
import { FULL, QUICK } from "./sizes.js";
import { WORKER_NODE_FLAGS } from "./worker-process.js";

const quick = ["1", "true", "yes"].includes(process.env.QUICK ?? "");
const sizes = quick ? QUICK : FULL;
const PHASES = [
  "ceilings",
  "pipeline",
  "pipeline-history",
  "baselines",
  "reimport",
  "queue",
  "http",
  "freshness",
  "functions-freshness",
];
const only = new Set((process.env.BENCH_ONLY ?? "").split(",").filter(Boolean));
const unknownPhases = [...only].filter((name) => !PHASES.includes(name));
if (unknownPhases.length > 0)
  usage(`BENCH_ONLY names no phase ${unknownPhases.join(", ")} (phases: ${PHASES.join(", ")})`);
const LOOP_LANES = setting(() => parseLoopLanes(process.env.BENCH_LOOP_LANES));
/** The rounds run the side-by-side ceilings, the pipeline, helpers.bulk and the rebuild: whichever of them is wanted. */
const wanted = (phase: string): boolean =>
  phase === "rounds" ? roundParts().length > 0 : only.size === 0 || only.has(phase);
const roundParts = (): string[] =>
  [
    wanted("ceilings") ? "the ceilings side by side" : "",
    wanted("pipeline") ? "the driftless pipeline (sync history off)" : "",
    wanted("pipeline-history") ? "the pipeline with the sync history on" : "",
    wanted("baselines") ? `helpers.bulk${LOOP_LANES > 1 ? ` (${LOOP_LANES} loops at once)` : ""}` : "",
    wanted("reimport") ? "a rebuild" : "",
  ].filter(Boolean);
const log = (line: string) => console.log(line);
const phaseSeconds: Record<string, number> = {};
/** How long each phase waited for the machine to go quiet before it started (cpu.ts waitForQuiet). */
const quietWaitMs: Record<string, number> = {};
/** The host probe (host-speed.ts) at the start of each phase, once the machine was quiet: lower is faster. */
const hostProbe: Record<string, number> = {};
/** Runs one measurement if it was asked for, logging its title and how long it took. */
async function phase<T>(name: string, title: string, measure: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) return undefined;
  log(`${title}:`);
  const quietMs = await waitForQuiet();
  quietWaitMs[name] = quietMs;
  hostProbe[name] = hostProbeMs();
  log(
    `  (host probe ${hostProbe[name]} ms${quietMs > 1000 ? `; waited ${(quietMs / 1000).toFixed(1)} s for the machine to go quiet` : ""})`,
  );
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
  // The queue and the HTTP producer only enqueue keys: a run of those alone needs no documents in Cosmos.
  const needsDocs = only.size === 0 || [...only].some((name) => name !== "http" && name !== "queue");
  log(`stack ready in ${phaseSeconds.stack} s${needsDocs ? `; seeding ${sizes.docs} documents …` : ""}`);
  const seeded = needsDocs ? await seed(ctx.container, 0, sizes.docs) : undefined;
  if (seeded) log(`  seeded at ${seeded.perSec} docs/s (bulk upserts)`);

  const sweep = await phase("ceilings", "ceilings: warm-up and sweeps, each end alone", () => sweepCeilings(ctx, log));
  const baselines = wanted("baselines") ? createBaselines(ctx, LOOP_LANES) : undefined;
  // The side-by-side ceilings, the pipeline, helpers.bulk and a rebuild, in rounds (rounds.ts says
  // why). The pipelines' processes and the rebuild's worker stay up, idle, while the others run.
  // The sync history (one event per synced change, written to Elasticsearch) is an optional
  // feature, on by default, that adds a second, smaller bulk write per batch to the same
  // Elasticsearch. The core pipeline, which the ceilings and baselines compare with, runs
  // without it; a second pipeline process with it on drains the same keys in each round, which
  // gives its cost.
  const measured = await phase("rounds", `${sizes.rounds} rounds of: ${roundParts().join(", ")}`, async () => {
    const pipeline = wanted("pipeline")
      ? await startPipeline(ctx, sizes.rounds, { SYNC_EVENTS_ENABLED: "false" })
      : undefined;
    let pipelineWithHistory: Pipeline | undefined;
    let reimport: Reimport | undefined;
    try {
      pipelineWithHistory = wanted("pipeline-history") ? await startPipeline(ctx, sizes.rounds) : undefined;
      reimport = wanted("reimport") ? await startReimport(ctx) : undefined;
      await baselines?.warmUp();
      if (reimport)
        log(
          `  the rebuild's worker warmed up on an untimed rebuild of ${sizes.reimportDocs} documents: ${reimport.warmUpMs} ms`,
        );
      const rounds = await measureRounds(
        ctx,
        { sweep, pipeline, pipelineWithHistory, baselines, reimport },
        sizes.rounds,
        log,
      );
      return {
        rounds,
        reimport: reimport ? { warmUpMs: reimport.warmUpMs, peakRssMb: await reimport.peakRssMb() } : undefined,
      };
    } finally {
      await pipeline?.close();
      await pipelineWithHistory?.close();
      await reimport?.close();
    }
  });
  const rounds = measured?.rounds;
  const perDoc = baselines
    ? await phase("baselines", "per-document baseline", async () => {
        const result = await baselines.perDoc();
        log(
          `  ${result.perSec} docs/s (${result.docs} documents), its CPU ${result.cpuMsPer1kDocs} ms per 1000 documents (cores: ${formatCores(result.cores)})`,
        );
        return result;
      })
    : undefined;
  const queue = await phase("queue", "queue alone", () => measureQueue(ctx, log));
  const http = await phase("http", "HTTP producer (worker mode, autocannon)", () => measureHttp(ctx, log));
  const freshness = await phase("freshness", "freshness through the change feed", () => measureFreshness(ctx, log));
  const functions = await phase(
    "functions-freshness",
    "freshness in the Functions topology (real handlers, host emulated)",
    () => measureFunctionsFreshness(ctx, log),
  );

  // Each figure is the median of the rounds; each ratio the median of the rounds' own ratios
  // (not the ratio of two medians: a ratio compares two measurements of the same round).
  const each = <T>(pick: (r: Round) => T | undefined) => (rounds ?? []).map(pick);
  const es = median(each((r) => r.ceilings?.es.perSec));
  const cosmos = median(each((r) => r.ceilings?.cosmos.perSec));
  const pipelineDocsPerSec = median(each((r) => r.pipeline?.docsPerSec));
  const helpersBulkDocsPerSec = median(each((r) => r.helpersBulk?.perSec));
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b) : null);
  const medianRatio = (pick: (r: Round) => number | undefined) => {
    const value = median(each(pick));
    return value === undefined ? null : round(value);
  };
  const range = (pick: (r: Round) => number | undefined) => {
    const values = each(pick).filter((value): value is number => value !== undefined);
    return values.length > 0 ? [Math.min(...values), Math.max(...values)] : null;
  };
  const rebuilds = each((r) => r.reimport).filter((run): run is ReimportRun => run !== undefined);
  const reimport =
    measured?.reimport && rebuilds.length > 0
      ? {
          docs: rebuilds.at(-1)!.docs,
          docsPerSec: median(rebuilds.map((run) => run.docsPerSec))!,
          /** The median of the rounds' own ratios: each rebuild against its round's side-by-side window. */
          toEsCeiling: medianRatio((r) => r.reimportToEsCeiling),
          toEsCeilingRange: range((r) => r.reimportToEsCeiling),
          /**
           * Stricter: against Elasticsearch alone (the sweep). A rebuild reads pages, which cost
           * Cosmos little, so it leaves Elasticsearch more of the machine than the side-by-side
           * Cosmos loop, which reads as fast as it can, does.
           */
          toEsAlone: ratio(median(rebuilds.map((run) => run.docsPerSec)), sweep?.esAlone),
          /**
           * The rebuild's scan phase alone against the same windows: the steady part, without the
           * fixed steps (index creation, final refresh, swap) that a small rebuild pays in full.
           */
          scanToEsCeiling: medianRatio((r) => r.rebuildScanToEsCeiling),
          scanToEsCeilingRange: range((r) => r.rebuildScanToEsCeiling),
          /** The medians of the rounds' steps (job phases, from its view's phaseMs) and of Elasticsearch's time on the new index. */
          stepsMs: {
            prepare: median(rebuilds.map((run) => run.steps.prepareMs)) ?? null,
            scan: median(rebuilds.map((run) => run.steps.scanMs)) ?? null,
            refreshAndSwap: median(rebuilds.map((run) => run.steps.swapMs)) ?? null,
            outsideTheJob: median(rebuilds.map((run) => run.steps.outsideMs)) ?? null,
            esIndexing: median(rebuilds.map((run) => run.es?.indexingMs)) ?? null,
            esRefresh: median(rebuilds.map((run) => run.es?.refreshMs)) ?? null,
          },
          /** Of all the rounds: every rebuild ran in the one worker process. */
          peakRssMb: measured.reimport.peakRssMb,
          /** The worker's first rebuild, untimed: its warm-up (reimport.ts). */
          warmUpMs: measured.reimport.warmUpMs,
          /** The worker's Node.js flags: its heap cap decides how far its resident set grows (worker-process.ts). */
          workerNodeFlags: WORKER_NODE_FLAGS.join(" "),
          ...(rebuilds.every((run) => run.finished)
            ? {}
            : {
                incomplete: `a rebuild had not finished after ${sizes.reimportTimeoutSeconds} s; its rate is its progress so far`,
              }),
        }
      : undefined;

  const results = {
    esBulkCeilingDocsPerSec: es ?? null,
    cosmosReadCeilingDocsPerSec: cosmos ?? null,
    pipelineDocsPerSec: pipelineDocsPerSec ?? null,
    pipelineToCeiling: medianRatio((r) => r.pipelineToCeiling),
    /** The lowest and highest of the rounds' pipelineToCeiling. */
    pipelineToCeilingRange: range((r) => r.pipelineToCeiling),
    /** Stricter: against Elasticsearch's best rate with nothing else running (the sweep), not side by side with the Cosmos loop. */
    pipelineToEsAlone: ratio(pipelineDocsPerSec, sweep?.esAlone),
    esBulkAloneDocsPerSec: sweep?.esAlone ?? null,
    cosmosReadAloneDocsPerSec: sweep?.cosmosAlone ?? null,
    pipelineWithHistoryDocsPerSec: median(each((r) => r.pipelineWithHistory?.docsPerSec)) ?? null,
    /** What the sync history costs: the pipeline with it on ÷ with it off (the rounds' median). */
    historyOnToOff: medianRatio((r) => r.historyOnToOff),
    historyOnToOffRange: range((r) => r.historyOnToOff),
    pipelineToPerDoc: ratio(pipelineDocsPerSec, perDoc?.perSec),
    pipelineToHelpersBulk: medianRatio((r) => r.pipelineToHelpersBulk),
    pipelineToHelpersBulkRange: range((r) => r.pipelineToHelpersBulk),
    perDocBaselineDocsPerSec: perDoc?.perSec ?? null,
    helpersBulkDocsPerSec: helpersBulkDocsPerSec ?? null,
    workerCpuMsPer1kDocs: median(each((r) => r.pipeline?.cpuMsPer1kDocs)) ?? null,
    /** The helpers.bulk loop's own CPU (the bench process), against workerCpuMsPer1kDocs. */
    helpersBulkCpuMsPer1kDocs: median(each((r) => r.helpersBulk?.cpuMsPer1kDocs)) ?? null,
    /** The worker's CPU per document ÷ the helpers.bulk loop's (the rounds' median), and its range. */
    workerCpuToHelpersBulkCpu: medianRatio((r) => r.workerCpuToHelpersBulkCpu),
    workerCpuToHelpersBulkCpuRange: range((r) => r.workerCpuToHelpersBulkCpu),
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
          /**
           * The Go reference producer (bench/go-producer) under the same single-key load, right
           * after driftless in each pair; null without a Go toolchain.
           */
          goReference: http.goReference
            ? {
                requestsPerSecPerServerCore:
                  median(http.goReference.runs.map((run) => run.requestsPerSecPerServerCore ?? undefined)) ?? null,
                runs: http.goReference.runs,
                /** driftless's requests per server core ÷ the Go reference's: the median of the pairs, and their range. */
                perCoreRatio: median([...http.goReference.perCoreRatios]) ?? null,
                perCoreRatioRange: http.goReference.perCoreRatios.length
                  ? [Math.min(...http.goReference.perCoreRatios), Math.max(...http.goReference.perCoreRatios)]
                  : null,
              }
            : null,
        }
      : null,
    freshness: freshness ?? null,
    /** The same freshness through the Functions handlers (functions-freshness.ts), and the timer's idle cost. */
    functions: functions ?? null,
    reimport: reimport ?? null,
    details: {
      seedDocsPerSec: seeded?.perSec ?? null,
      ceilings: sweep
        ? { esBest: sweep.esBest, cosmosBest: sweep.cosmosBest, esSweep: sweep.esSweep, cosmosSweep: sweep.cosmosSweep }
        : null,
      rounds:
        rounds?.map(({ pipeline, ...rest }) => ({
          ...rest,
          pipeline: pipeline
            ? {
                docsPerSec: pipeline.docsPerSec,
                docs: pipeline.docs,
                complete: pipeline.complete,
                ms: Math.round(pipeline.ms),
                cpuMsPer1kDocs: pipeline.cpuMsPer1kDocs,
                eventLoopBusy: pipeline.eventLoopBusy,
                cores: pipeline.cores,
                report: pipeline.report,
                maxRssMb: pipeline.maxRssMb,
              }
            : undefined,
        })) ?? null,
      perDoc: perDoc ?? null,
    },
    run: {
      at: new Date(startedAt).toISOString(),
      quick,
      seconds: Math.round((Date.now() - startedAt) / 1000),
      phaseSeconds,
      quietWaitMs,
      /** The host probe (host-speed.ts) at the start of each phase: lower is faster (each round has its own, per measurement). */
      hostProbeMs: hostProbe,
      documents: sizes.docs,
      cores: cpus().length,
      // Absolute numbers move with the host's CPU: name it, with its clock where the machine reports one.
      cpu: await cpuName(),
      node: process.version,
      /** The Node.js flags of every worker-mode process (worker-process.ts); the baselines run with Node's defaults. */
      workerNodeFlags: WORKER_NODE_FLAGS.join(" "),
      /** The baselines' loops running at once (baselines.ts, BENCH_LOOP_LANES). */
      loopLanes: LOOP_LANES,
      loadAverageBefore: loadBefore.map((value) => round(value)),
      loadAverageAfter: loadavg().map((value) => round(value)),
    },
  };
  const targets = {
    pipelineToCeiling: atLeast(results.pipelineToCeiling, 0.9),
    pipelineToPerDoc: atLeast(results.pipelineToPerDoc, 5),
    pipelineToHelpersBulk: atLeast(results.pipelineToHelpersBulk, 1),
    workerCpuToHelpersBulkCpu: atMost(results.workerCpuToHelpersBulkCpu, 1),
    httpSingleRequestsPerSec: atLeast(http?.single.requestsPerSec, 10_000),
    httpSingleP99Ms: atMost(http?.single.p99Ms, 25),
    httpSingleRequestsPerSecPerServerCore: atLeast(http?.single.requestsPerSecPerServerCore, 30_000),
    httpSinglePerCoreToGoReference: atLeast(results.httpEnqueue?.goReference?.perCoreRatio, 1),
    httpBatchedKeysPerSec: atLeast(http?.batched.keysPerSec, 100_000),
    freshnessP99Ms: atMost(freshness?.p99Ms, 3000),
    functionsFreshnessP99Ms: atMost(functions?.freshness.p99Ms, 2000),
    reimportToEsCeiling: atLeast(reimport?.toEsCeiling, 0.8),
    reimportPeakRssMb: atMost(reimport?.peakRssMb, 300),
    historyOnToOff: atLeast(results.historyOnToOff, 0.95),
  };
  await mkdir(join("bench", "results"), { recursive: true });
  await writeFile(join("bench", "results", "latest.json"), `${JSON.stringify({ ...results, targets }, null, 2)}\n`);

  const spread = (range: number[] | null) =>
    range && (rounds?.length ?? 0) > 1
      ? ` (median of ${rounds!.length} rounds: ${range.map((value) => value.toFixed(2)).join("–")})`
      : "";
  const rows: [string, string, (typeof targets)[keyof typeof targets] | undefined][] = [
    [
      `pipeline ÷ lower ceiling${spread(results.pipelineToCeilingRange)}`,
      fmt(results.pipelineToCeiling, 2),
      targets.pipelineToCeiling,
    ],
    ["pipeline ÷ es alone (stricter)", fmt(results.pipelineToEsAlone, 2), undefined],
    ["pipeline ÷ per-document baseline", fmt(results.pipelineToPerDoc, 1), targets.pipelineToPerDoc],
    [
      `pipeline ÷ helpers.bulk${spread(results.pipelineToHelpersBulkRange)}`,
      fmt(results.pipelineToHelpersBulk, 2),
      targets.pipelineToHelpersBulk,
    ],
    [
      `pipeline with sync history ÷ without${spread(results.historyOnToOffRange)}`,
      fmt(results.historyOnToOff, 2),
      targets.historyOnToOff,
    ],
    [
      `reimport ÷ es ceiling${spread(results.reimport?.toEsCeilingRange ?? null)}`,
      fmt(results.reimport?.toEsCeiling, 2),
      targets.reimportToEsCeiling,
    ],
    ["reimport ÷ es alone (stricter)", fmt(results.reimport?.toEsAlone, 2), undefined],
    [
      `reimport's scan phase alone ÷ es ceiling${spread(results.reimport?.scanToEsCeilingRange ?? null)}`,
      fmt(results.reimport?.scanToEsCeiling, 2),
      undefined,
    ],
    ["", "", undefined],
    ["es bulk ceiling, side by side (docs/s, median)", fmt(es), undefined],
    ["cosmos read ceiling, side by side (docs/s, median)", fmt(cosmos), undefined],
    ["es bulk alone / cosmos reads alone (docs/s)", `${fmt(sweep?.esAlone)} / ${fmt(sweep?.cosmosAlone)}`, undefined],
    ["driftless pipeline (docs/s, median)", fmt(results.pipelineDocsPerSec), undefined],
    ["driftless pipeline, sync history on (docs/s, median)", fmt(results.pipelineWithHistoryDocsPerSec), undefined],
    ["per-document baseline (docs/s)", fmt(results.perDocBaselineDocsPerSec), undefined],
    ["helpers.bulk baseline (docs/s, median)", fmt(results.helpersBulkDocsPerSec), undefined],
    ["worker CPU per 1000 docs (ms)", fmt(results.workerCpuMsPer1kDocs, 1), undefined],
    ["helpers.bulk loop CPU per 1000 docs (ms)", fmt(results.helpersBulkCpuMsPer1kDocs, 1), undefined],
    [
      `worker CPU ÷ helpers.bulk loop CPU, per document${spread(results.workerCpuToHelpersBulkCpuRange)}`,
      fmt(results.workerCpuToHelpersBulkCpu, 2),
      targets.workerCpuToHelpersBulkCpu,
    ],
    ["queue enqueue (keys/s)", fmt(results.queueEnqueueKeysPerSec), undefined],
    ["queue claim + ack (keys/s)", fmt(results.queueClaimAckKeysPerSec), undefined],
    ["HTTP single-key (req/s)", fmt(http?.single.requestsPerSec), targets.httpSingleRequestsPerSec],
    [
      "HTTP single-key p50 / p90 / p99 (ms)",
      http ? `${http.single.p50Ms} / ${http.single.p90Ms} / ${http.single.p99Ms}` : "n/a",
      targets.httpSingleP99Ms,
    ],
    [
      `HTTP single-key per server core (req/s, ${fmt(http?.single.serverCores, 2)} cores)`,
      fmt(http?.single.requestsPerSecPerServerCore),
      targets.httpSingleRequestsPerSecPerServerCore,
    ],
    [
      `HTTP single-key per server core ÷ the Go reference's, side by side${
        results.httpEnqueue?.goReference?.perCoreRatioRange
          ? ` (median of ${http?.goReference?.perCoreRatios.length} pairs: ${results.httpEnqueue.goReference.perCoreRatioRange.map((v) => v.toFixed(2)).join("–")})`
          : ""
      }`,
      fmt(results.httpEnqueue?.goReference?.perCoreRatio, 2),
      targets.httpSinglePerCoreToGoReference,
    ],
    ["HTTP batched (keys/s)", fmt(http?.batched.keysPerSec), targets.httpBatchedKeysPerSec],
    [
      "HTTP batched p50 / p90 / p99 (ms)",
      http ? `${http.batched.p50Ms} / ${http.batched.p90Ms} / ${http.batched.p99Ms}` : "n/a",
      undefined,
    ],
    ["freshness p50 / p99 (ms)", freshness ? `${freshness.p50Ms} / ${freshness.p99Ms}` : "n/a", targets.freshnessP99Ms],
    [
      "freshness, Functions topology, p50 / p99 (ms)",
      functions ? `${functions.freshness.p50Ms} / ${functions.freshness.p99Ms}` : "n/a",
      targets.functionsFreshnessP99Ms,
    ],
    ["Functions timer busy share while idle", fmt(functions?.idleTimerBusyShare, 3), undefined],
    ["reimport (docs/s, median)", fmt(results.reimport?.docsPerSec), undefined],
    ["reimport worker peak RSS (MB)", fmt(results.reimport?.peakRssMb), targets.reimportPeakRssMb],
    [
      "reimport steps: prepare / scan / refresh and swap / outside the job (ms, medians)",
      steps(results.reimport?.stepsMs),
      undefined,
    ],
    ["es on the reimport's new index: indexing / refresh (ms, medians)", esTime(results.reimport?.stepsMs), undefined],
  ];
  const probes = [
    ...Object.values(hostProbe),
    ...each((r) => r.hostProbeMs).flatMap((byName) => Object.values(byName ?? {})),
  ];
  log(`\n${table(rows)}\n`);
  log(
    `absolute numbers are this machine's (${cpus().length} cores, ${results.run.cpu}, load ${results.run.loadAverageBefore.join(" ")} before the run; host probe ${probeSpread(probes)}); bench/results/latest.json has the details (${results.run.seconds} s).`,
  );
  // Only a run of every phase, as the targets define it, is a result to keep: a subset, or loops
  // run several at once, leave latest.md and the history alone.
  if (only.size > 0 || LOOP_LANES > 1) {
    log("bench/results/latest.md and history.md left alone: a run with BENCH_ONLY or BENCH_LOOP_LANES is not kept.");
  } else {
    const size = quick ? "QUICK" : "full";
    const withRange = (value: number | null | undefined, range: number[] | null | undefined) =>
      `${fmt(value, 2)}${range && range.length === 2 ? ` (${range.map((v) => v.toFixed(2)).join("–")})` : ""}`;
    await writeFile(
      join("bench", "results", "latest.md"),
      latestMarkdown(
        {
          at: results.run.at,
          size,
          host: `${cpus().length} cores, ${results.run.cpu}; host probe ${probeSpread(probes)}`,
        },
        rows,
      ),
    );
    const historyPath = join("bench", "results", "history.md");
    const row = historyRow({
      at: results.run.at,
      size,
      pipelineToCeiling: withRange(results.pipelineToCeiling, results.pipelineToCeilingRange),
      pipelineToHelpersBulk: withRange(results.pipelineToHelpersBulk, results.pipelineToHelpersBulkRange),
      pipelineToPerDoc: fmt(results.pipelineToPerDoc, 1),
      reimportToCeiling: withRange(results.reimport?.toEsCeiling, results.reimport?.toEsCeilingRange),
      historyOnToOff: withRange(results.historyOnToOff, results.historyOnToOffRange),
      httpSingle: http ? `${fmt(http.single.requestsPerSec)}, ${http.single.p99Ms} ms` : "",
      httpBatchedKeysPerSec: fmt(http?.batched.keysPerSec),
      freshnessP99: freshness ? `${fmt(freshness.p99Ms)} ms` : "",
      reimportPeakRss: results.reimport ? `${fmt(results.reimport.peakRssMb)} MB` : "",
      workerCpuPer1k:
        results.workerCpuMsPer1kDocs === null
          ? ""
          : `${fmt(results.workerCpuMsPer1kDocs)} ms${results.workerCpuToHelpersBulkCpu === null ? "" : `, ÷ helpers.bulk ${withRange(results.workerCpuToHelpersBulkCpu, results.workerCpuToHelpersBulkCpuRange)}`}`,
      hostProbeMedian: probes.length ? `${median(probes)!.toFixed(0)} ms` : "",
      wallTime: `${Math.floor(results.run.seconds / 60)}m${String(results.run.seconds % 60).padStart(2, "0")}s`,
    });
    await writeFile(historyPath, appendHistory(await readFile(historyPath, "utf8"), row));
    log("bench/results/latest.md written and the run added to bench/results/history.md.");
  }
} finally {
  await ctx.close();
  await rm(dir, { recursive: true, force: true });
}

function steps(
  ms:
    | { prepare: number | null; scan: number | null; refreshAndSwap: number | null; outsideTheJob: number | null }
    | undefined,
): string {
  return ms ? [ms.prepare, ms.scan, ms.refreshAndSwap, ms.outsideTheJob].map((value) => fmt(value)).join(" / ") : "n/a";
}

function esTime(ms: { esIndexing: number | null; esRefresh: number | null } | undefined): string {
  return ms ? `${fmt(ms.esIndexing)} / ${fmt(ms.esRefresh)}` : "n/a";
}

/** The host probes' lowest, median and highest: how far the host's speed moved during the run. */
function probeSpread(values: readonly number[]): string {
  if (values.length === 0) return "n/a";
  return `${Math.min(...values).toFixed(0)} / ${median(values)!.toFixed(0)} / ${Math.max(...values).toFixed(0)} ms, min / median / max, lower is faster`;
}

/** The CPU's model and clock; os.cpus() says 0 MHz in some VMs, where /proc/cpuinfo still knows. */
async function cpuName(): Promise<string> {
  const info = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? cpus()[0]?.speed ?? 0);
  return `${cpus()[0]?.model ?? "unknown CPU"}${mhz > 0 ? ` at ${Math.round(mhz)} MHz` : ""}`;
}

/** A setting the run cannot start with: one line, no stack trace, before anything is started. */
function usage(message: string): never {
  process.stderr.write(`driftless bench: ${message}\n`);
  process.exit(2);
}

function setting<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}
