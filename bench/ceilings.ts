import type { OperationInput } from "@azure/cosmos";
import type { BenchContext } from "./context.js";
import { cpuMeter, type Cores } from "./cpu.js";
import { benchDoc, benchKey } from "./docs.js";
import { forDuration, type Rate } from "./measure.js";

export interface EsConfig {
  readonly batch: number;
  readonly concurrency: number;
}

export interface CosmosConfig {
  /** `point`: one read per document; `bulk`: the SDK's bulk Read operations, grouped per partition key range. */
  readonly mode: "point" | "bulk";
  /** Requests in flight. */
  readonly concurrency: number;
}

export interface SweepPoint<C> {
  readonly config: C;
  readonly docsPerSec: number;
}

const COSMOS_BULK_OPS = 100;
const VERSION = 1_700_000_000;
/** Documents per pre-serialized piece; a request of `batch` documents joins batch / PIECE of them. */
export const PIECE = 250;

/**
 * Pre-serialized `_bulk` lines of the seeded documents, exactly what driftless's sink sends for
 * them (external version, the driftless metadata stamp), so the ceiling is Elasticsearch's work
 * and nothing of the client's. Ids are unique across the pieces (the n-th pass over the seeded
 * documents gets a suffix), so every write is a new document, as in the pipeline's fresh index.
 * Buffers, so the bodies sit outside the JavaScript heap and cost the loop only a memcpy.
 */
export function bulkPieces(seeded: number, total: number): Buffer[] {
  const pieces: Buffer[] = [];
  let lines: string[] = [];
  for (let i = 0; i < total; i++) {
    const doc = benchDoc(i % seeded);
    const pass = Math.floor(i / seeded);
    const id = pass === 0 ? doc.id : `${doc.id}~${pass}`;
    const member = JSON.stringify([id, doc.tenant]);
    lines.push(`{"index":{"_id":"${id}","version":${VERSION},"version_type":"external_gte"}}`);
    lines.push(
      `{"driftless":${JSON.stringify({ key: member, ts: VERSION })},${JSON.stringify({ ...doc, id }).slice(1)}`,
    );
    if (lines.length === PIECE * 2) {
      pieces.push(Buffer.from(`${lines.join("\n")}\n`));
      lines = [];
    }
  }
  return pieces;
}

/** Raw `_bulk` into a fresh alias for `seconds`, `config.batch` documents per request. */
export async function esLoop(
  ctx: BenchContext,
  config: EsConfig,
  seconds: number,
  alias: string,
  pieces: readonly Buffer[],
): Promise<Rate> {
  await ctx.createAlias(alias);
  const perRequest = Math.max(1, Math.round(config.batch / PIECE));
  let next = 0;
  try {
    return await forDuration(seconds, config.concurrency, async () => {
      const parts: Buffer[] = [];
      for (let i = 0; i < perRequest; i++) parts.push(pieces[next++ % pieces.length]!);
      const response = await ctx.elastic.transport.request<{ errors: boolean }>({
        method: "POST",
        path: `/${alias}/_bulk`,
        querystring: { filter_path: "errors" },
        bulkBody: Buffer.concat(parts),
      });
      if (response.errors) throw new Error("the raw bulk loop got item errors");
      return perRequest * PIECE;
    });
  } finally {
    await ctx.dropAlias(alias);
  }
}

/** Raw SDK reads of the seeded keys for `seconds`. */
export async function cosmosLoop(ctx: BenchContext, config: CosmosConfig, seconds: number): Promise<Rate> {
  const { container } = ctx;
  const docs = ctx.sizes.docs;
  let cursor = 0;
  if (config.mode === "point") {
    return forDuration(seconds, config.concurrency, async () => {
      const key = benchKey(cursor++ % docs);
      const response = await container.item(key.id, key.pk).read();
      if (response.statusCode !== 200) throw new Error(`point read answered ${response.statusCode}`);
      return 1;
    });
  }
  return forDuration(seconds, config.concurrency, async () => {
    const ops: OperationInput[] = [];
    for (let i = 0; i < COSMOS_BULK_OPS; i++) {
      const key = benchKey(cursor++ % docs);
      ops.push({ operationType: "Read", id: key.id, partitionKey: key.pk });
    }
    // The same SDK call as the reader (shared/cosmos/reader.ts), so the ceiling is comparable.
    const responses = await container.items.bulk(ops, { continueOnError: true });
    if (responses.some((response) => response?.statusCode !== 200)) throw new Error("a bulk read did not answer 200");
    return ops.length;
  });
}

/** What the sweeps found: the best configuration of each end alone, and the bodies to send. */
export interface Sweep {
  readonly esBest: EsConfig;
  readonly cosmosBest: CosmosConfig;
  readonly esAlone: number;
  readonly cosmosAlone: number;
  readonly esSweep: readonly SweepPoint<EsConfig>[];
  readonly cosmosSweep: readonly SweepPoint<CosmosConfig>[];
  readonly pieces: readonly Buffer[];
}

/** One window of the two raw loops side by side, each at its best configuration. */
export interface Window {
  readonly es: Rate;
  readonly cosmos: Rate;
  readonly cores: Cores;
}

let aliasSerial = 0;
const ceilingAlias = () => `bench-ceiling-${Date.now().toString(36)}-${aliasSerial++}`;

/**
 * Warms Elasticsearch up, then sweeps batch size and concurrency for each end alone. The
 * side-by-side windows (the ceilings the ratios are taken against) are measured afterwards, by
 * `sideBySide`, next to what they are compared with.
 */
export async function sweepCeilings(ctx: BenchContext, log: (line: string) => void): Promise<Sweep> {
  const { sweepSeconds, ceilingSeconds, docs } = ctx.sizes;
  // Enough fresh documents for the longest loop at a generous rate, serialized before any timing.
  const pieces = bulkPieces(docs, Math.ceil((Math.max(sweepSeconds, ceilingSeconds) * 15_000) / PIECE) * PIECE);

  const [warm] = await Promise.all([
    warmUpElasticsearch(ctx, pieces, log),
    cosmosLoop(ctx, { mode: "bulk", concurrency: 2 }, sweepSeconds),
  ]);

  // The warm-up ends with two windows at 1,000 × 4 that gained less than 10%: the later of them
  // is that configuration's sweep point, measured once more it would only cost time.
  const esSweep: SweepPoint<EsConfig>[] = [{ config: WARM_UP_CONFIG, docsPerSec: warm }];
  const tryEs = async (config: EsConfig) => {
    const rate = await esLoop(ctx, config, sweepSeconds, ceilingAlias(), pieces);
    esSweep.push({ config, docsPerSec: rate.perSec });
    log(
      `  es bulk   batch ${String(config.batch).padStart(5)} × ${config.concurrency} in flight: ${rate.perSec} docs/s`,
    );
  };
  // One request in flight was never the best (below 2–8 in flight in every run tried): it is left
  // out for time.
  for (const concurrency of [2, 8]) await tryEs({ batch: 1000, concurrency });
  const bestConcurrency = best(esSweep).config.concurrency;
  for (const batch of [500, 2000]) await tryEs({ batch, concurrency: bestConcurrency });
  const esBest = best(esSweep).config;

  const cosmosSweep: SweepPoint<CosmosConfig>[] = [];
  // Point reads reach about a tenth of bulk reads at any concurrency: one point of them shows it.
  for (const config of [
    { mode: "point", concurrency: 64 },
    { mode: "bulk", concurrency: 2 },
    { mode: "bulk", concurrency: 4 },
    { mode: "bulk", concurrency: 8 },
  ] as const) {
    const rate = await cosmosLoop(ctx, config, sweepSeconds);
    cosmosSweep.push({ config, docsPerSec: rate.perSec });
    log(
      `  cosmos    ${config.mode === "point" ? "point reads" : "bulk reads (100 per request)"} × ${config.concurrency} in flight: ${rate.perSec} docs/s`,
    );
  }
  const cosmosBest = best(cosmosSweep).config;
  return {
    esBest,
    cosmosBest,
    esAlone: best(esSweep).docsPerSec,
    cosmosAlone: best(cosmosSweep).docsPerSec,
    esSweep,
    cosmosSweep,
    pieces,
  };
}

/**
 * The two raw loops at their best configurations at the same time for `seconds` (the pipeline
 * runs both ends at once on the same cores), each end's rate there.
 */
export async function sideBySide(ctx: BenchContext, sweep: Sweep, seconds: number): Promise<Window> {
  const meter = await cpuMeter({ bench: process.pid, ...(await ctx.pids()) });
  const [es, cosmos] = await Promise.all([
    esLoop(ctx, sweep.esBest, seconds, ceilingAlias(), sweep.pieces),
    cosmosLoop(ctx, sweep.cosmosBest, seconds),
  ]);
  return { es, cosmos, cores: await meter.stop() };
}

/**
 * Indexes until Elasticsearch stops getting faster. A cold Elasticsearch needs a few hundred
 * thousand documents before its JIT settles, and indexes several times slower until then
 * (figures in bench/results/history.md).
 * Measured on a JVM still warming, every later phase would be faster than the one before it, and
 * comparisons between phases (pipeline ÷ ceiling, pipeline ÷ helpers.bulk) would measure their
 * order. Windows of `sweepSeconds` at 1,000 × 4 until two in a row are no more than 10% above
 * the best before them (at least four windows, at most WARM_UP_MAX_SECONDS).
 */
const WARM_UP_MAX_SECONDS = 45;
const WARM_UP_CONFIG: EsConfig = { batch: 1000, concurrency: 4 };

/** Returns the last window's rate. */
async function warmUpElasticsearch(
  ctx: BenchContext,
  pieces: readonly Buffer[],
  log: (line: string) => void,
): Promise<number> {
  const { sweepSeconds } = ctx.sizes;
  const rates: number[] = [];
  let flat = 0;
  while (flat < 2 && rates.length * sweepSeconds < WARM_UP_MAX_SECONDS) {
    const rate = (await esLoop(ctx, WARM_UP_CONFIG, sweepSeconds, ceilingAlias(), pieces)).perSec;
    flat = rates.length > 0 && rate <= 1.1 * Math.max(...rates) ? flat + 1 : 0;
    rates.push(rate);
    if (rates.length < 4) flat = 0;
  }
  log(`  es warm-up (batch 1000 × 4, ${sweepSeconds} s windows): ${rates.join(", ")} docs/s`);
  return rates.at(-1)!;
}

function best<C>(points: readonly SweepPoint<C>[]): SweepPoint<C> {
  return points.reduce((a, b) => (b.docsPerSec > a.docsPerSec ? b : a));
}
