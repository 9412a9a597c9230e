import type { BaselineRate, Baselines } from "./baselines.js";
import { sideBySide, type Sweep, type Window } from "./ceilings.js";
import type { BenchContext } from "./context.js";
import type { Sizes } from "./sizes.js";
import { formatCores, waitForQuiet } from "./cpu.js";
import { hostProbeMs } from "./host-speed.js";
import { round as roundTo } from "./measure.js";
import type { Pipeline, PipelineRound } from "./pipeline.js";
import type { Reimport, ReimportRun } from "./reimport.js";

/** One round: the measurements a ratio compares, taken one right after the other. */
export interface Round {
  /** The two raw loops side by side: the ceilings this round's pipeline is compared with. */
  readonly ceilings?: Window;
  readonly pipeline?: PipelineRound;
  /** The same drain with the sync history on, driftless's default (the pipeline above runs without it). */
  readonly pipelineWithHistory?: PipelineRound;
  readonly helpersBulk?: BaselineRate;
  /** A timed rebuild of the whole seeded container. */
  readonly reimport?: ReimportRun;
  /** The pipeline ÷ the lower of this round's two side-by-side ceilings. */
  readonly pipelineToCeiling?: number;
  readonly pipelineToHelpersBulk?: number;
  /** The worker's CPU per document ÷ the helpers.bulk loop's, for the same documents read the same way. */
  readonly workerCpuToHelpersBulkCpu?: number;
  /** What the sync history costs: the pipeline with it on ÷ without it. */
  readonly historyOnToOff?: number;
  /** The rebuild ÷ this round's side-by-side Elasticsearch ceiling (a rebuild reads pages, not keys: Elasticsearch is its limit). */
  readonly reimportToEsCeiling?: number;
  /**
   * The rebuild's scan alone (its docs ÷ its scan phase) ÷ the same window: what the rebuild's
   * loop keeps up with Elasticsearch, without its fixed steps (index creation, final refresh, swap).
   */
  readonly rebuildScanToEsCeiling?: number;
  /** The order the measurements ran in. */
  readonly order: readonly string[];
  /** The host probe (host-speed.ts) right before each measurement, by its name: lower is faster. */
  readonly hostProbeMs: Readonly<Record<string, number>>;
}

export interface RoundParts {
  readonly sweep?: Sweep;
  readonly pipeline?: Pipeline;
  readonly pipelineWithHistory?: Pipeline;
  readonly baselines?: Baselines;
  readonly reimport?: Reimport;
}

/**
 * Measures the side-by-side ceilings, the pipeline (without and with the sync history),
 * `helpers.bulk` and a rebuild in `count` rounds, each round these one right after the other, and
 * the ratios within each round.
 *
 * Why rounds: this host's speed moves by itself between one phase and the next (Elasticsearch's
 * CPU per document in the same side-by-side window doubled between runs of one evening), and a
 * ratio of two single measurements taken a minute apart measured that as often as the
 * pipeline. Within a round the two sides of a ratio run seconds apart, and the median of the
 * rounds' ratios is what a single odd window cannot move. Every other round runs in reverse
 * order, so that a host that slows (or speeds up) steadily through a run does not favour
 * whichever measurement always comes first.
 */
export async function measureRounds(
  ctx: BenchContext,
  parts: RoundParts,
  count: number,
  log: (line: string) => void,
): Promise<Round[]> {
  const steps: [string, () => Promise<Partial<Round>>][] = [];
  const { sweep, pipeline, pipelineWithHistory, baselines, reimport } = parts;
  if (sweep)
    steps.push(["ceilings", async () => ({ ceilings: await sideBySide(ctx, sweep, ctx.sizes.ceilingSeconds) })]);
  if (pipeline) steps.push(["pipeline", async () => ({ pipeline: await pipeline.round() })]);
  if (pipelineWithHistory)
    steps.push(["pipeline with history", async () => ({ pipelineWithHistory: await pipelineWithHistory.round() })]);
  if (baselines) steps.push(["helpers.bulk", async () => ({ helpersBulk: await baselines.helpersBulk() })]);
  if (reimport) steps.push(["rebuild", async () => ({ reimport: await reimport.round() })]);

  const rounds: Round[] = [];
  for (let n = 1; n <= count; n++) {
    const order = n % 2 === 1 ? steps : [...steps].reverse();
    let measured: Partial<Round> = {};
    const probes: Record<string, number> = {};
    for (const [name, step] of order) {
      await waitForQuiet();
      probes[name] = hostProbeMs();
      measured = { ...measured, ...(await step()) };
    }
    const round = withRatios(
      measured,
      order.map(([name]) => name),
      probes,
    );
    rounds.push(round);
    logRound(n, round, ctx.sizes, log);
  }
  return rounds;
}

function withRatios(measured: Partial<Round>, order: readonly string[], hostProbeMs: Record<string, number>): Round {
  const { ceilings, pipeline, pipelineWithHistory, helpersBulk, reimport } = measured;
  const lower = ceilings ? Math.min(ceilings.es.perSec, ceilings.cosmos.perSec) : undefined;
  return {
    ...measured,
    ...(pipeline && lower ? { pipelineToCeiling: roundTo(pipeline.docsPerSec / lower) } : {}),
    ...(pipeline && helpersBulk ? { pipelineToHelpersBulk: roundTo(pipeline.docsPerSec / helpersBulk.perSec) } : {}),
    ...(pipeline && helpersBulk?.cpuMsPer1kDocs
      ? { workerCpuToHelpersBulkCpu: roundTo(pipeline.cpuMsPer1kDocs / helpersBulk.cpuMsPer1kDocs) }
      : {}),
    ...(pipeline && pipelineWithHistory
      ? { historyOnToOff: roundTo(pipelineWithHistory.docsPerSec / pipeline.docsPerSec) }
      : {}),
    ...(reimport && ceilings ? { reimportToEsCeiling: roundTo(reimport.docsPerSec / ceilings.es.perSec) } : {}),
    ...(reimport?.steps.scanMs && ceilings
      ? { rebuildScanToEsCeiling: roundTo(((reimport.docs / reimport.steps.scanMs) * 1000) / ceilings.es.perSec) }
      : {}),
    order,
    hostProbeMs,
  };
}

/** Elasticsearch's CPU per 1,000 documents in a pipeline's window: where the sync history's cost shows. */
function esCpu({ cores, docsPerSec }: PipelineRound): string {
  const es = cores?.elasticsearch;
  return es === undefined || docsPerSec <= 0 ? "" : `, Elasticsearch CPU ${Math.round((es / docsPerSec) * 1e6)} ms`;
}

function logRound(n: number, round: Round, sizes: Sizes, log: (line: string) => void) {
  const { ceilings, pipeline, pipelineWithHistory, helpersBulk, reimport } = round;
  log(`  round ${n} (${round.order.join(", ")}):`);
  log(`    host probe before each (ms): ${round.order.map((name) => `${name} ${round.hostProbeMs[name]}`).join(", ")}`);
  if (ceilings) {
    log(
      `    side by side: es ${ceilings.es.perSec} docs/s, cosmos ${ceilings.cosmos.perSec} docs/s (cores: ${formatCores(ceilings.cores)})`,
    );
  }
  if (pipeline) {
    log(
      `    pipeline: ${pipeline.docsPerSec} docs/s, worker CPU ${pipeline.cpuMsPer1kDocs} ms per 1000 documents${esCpu(pipeline)}, its event loop busy ${pipeline.eventLoopBusy}, its peak RSS ${pipeline.maxRssMb} MB${pipeline.cores ? ` (cores: ${formatCores(pipeline.cores)})` : ""}`,
    );
    if (!pipeline.complete)
      log(
        `    only ${pipeline.docs} of ${sizes.pipelineDocs} documents reached the index (${JSON.stringify(pipeline.report)})`,
      );
  }
  if (pipelineWithHistory) {
    log(
      `    pipeline with the sync history on: ${pipelineWithHistory.docsPerSec} docs/s, worker CPU ${pipelineWithHistory.cpuMsPer1kDocs} ms per 1000 documents${esCpu(pipelineWithHistory)}${pipelineWithHistory.cores ? ` (cores: ${formatCores(pipelineWithHistory.cores)})` : ""}`,
    );
    if (!pipelineWithHistory.complete)
      log(
        `    only ${pipelineWithHistory.docs} of ${sizes.pipelineDocs} documents reached the index (${JSON.stringify(pipelineWithHistory.report)})`,
      );
  }
  if (helpersBulk) {
    log(
      `    helpers.bulk: ${helpersBulk.perSec} docs/s, its CPU ${helpersBulk.cpuMsPer1kDocs} ms per 1000 documents (cores: ${formatCores(helpersBulk.cores)})`,
    );
  }
  if (reimport) {
    log(
      `    rebuild: ${reimport.docs} documents in ${reimport.ms} ms, ${reimport.docsPerSec} docs/s (cores: ${formatCores(reimport.cores)})`,
    );
    const { prepareMs, scanMs, swapMs, outsideMs } = reimport.steps;
    log(
      `    rebuild steps (ms): prepare ${prepareMs}, scan ${scanMs}, refresh and swap ${swapMs}, outside the job ${outsideMs}${reimport.es ? `; elasticsearch on the new index: indexing ${reimport.es.indexingMs}, refresh ${reimport.es.refreshMs}` : ""}`,
    );
    if (!reimport.finished)
      log(
        `    the rebuild had not finished after ${sizes.reimportTimeoutSeconds} s: ${reimport.docs} of ${sizes.reimportDocs} documents`,
      );
  }
  const ratios = [
    round.pipelineToCeiling !== undefined ? `pipeline ÷ lower ceiling ${round.pipelineToCeiling}` : "",
    round.pipelineToHelpersBulk !== undefined ? `pipeline ÷ helpers.bulk ${round.pipelineToHelpersBulk}` : "",
    round.workerCpuToHelpersBulkCpu !== undefined
      ? `worker CPU ÷ helpers.bulk CPU ${round.workerCpuToHelpersBulkCpu}`
      : "",
    round.historyOnToOff !== undefined ? `history on ÷ off ${round.historyOnToOff}` : "",
    round.reimportToEsCeiling !== undefined ? `rebuild ÷ es ceiling ${round.reimportToEsCeiling}` : "",
    round.rebuildScanToEsCeiling !== undefined ? `its scan alone ÷ es ceiling ${round.rebuildScanToEsCeiling}` : "",
  ].filter(Boolean);
  if (ratios.length > 0) log(`    ${ratios.join(", ")}`);
}
