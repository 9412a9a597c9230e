import { settingsSchema } from "../shared/config/settings.js";
import { createCosmosReader } from "../shared/cosmos/reader.js";
import type { SourceReader } from "../shared/sync/ports.js";
import type { BenchContext } from "./context.js";
import { CONTAINER, DATABASE } from "./context.js";
import { cpuMeter, type Cores } from "./cpu.js";
import { benchKey } from "./docs.js";
import { profiled } from "./inspector-profile.js";
import { rateOf, type Rate } from "./measure.js";

/** What a hand-written sync script would index: the document without Cosmos's system fields. */
function strip(document: Record<string, unknown>): Record<string, unknown> {
  const { _rid, _self, _etag, _attachments, _ts, _lsn, ...rest } = document;
  return rest;
}

/** Reads documents [from, from + count) with the driftless reader, the same reads the pipeline makes. */
async function readBatch(reader: SourceReader, from: number, count: number): Promise<Record<string, unknown>[]> {
  const keys = Array.from({ length: count }, (_, i) => {
    const key = benchKey(from + i);
    return { member: JSON.stringify([key.id, key.pk]), key };
  });
  const results = await reader.read(keys);
  return results.map((result) => {
    if (!("found" in result) || !result.found) throw new Error(`baseline read failed for ${result.member}`);
    return strip(result.document);
  });
}

/**
 * BENCH_LOOP_LANES: how many of the loops run at once, each taking the next batch (1 by default:
 * read a batch, write it, read the next). 3 runs them as the pipeline runs its batches
 * (SYNC_CONCURRENCY), to tell what batches in flight cost any Node.js process from what
 * driftless's own code costs; the CPU ratio's target is taken against the default.
 */
export function parseLoopLanes(text: string | undefined): number {
  if (text === undefined || text === "") return 1;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 8)
    throw new Error(`BENCH_LOOP_LANES must be a whole number from 1 to 8, got ${JSON.stringify(text)}`);
  return value;
}

/** Documents the helpers.bulk loop writes once, untimed, before its first measurement. */
const WARM_DOCS = 5_000;

export type BaselineRate = Rate & { readonly cores: Cores; readonly cpuMsPer1kDocs: number };

export interface Baselines {
  /** One `index` request per document, one after another (what simple sync scripts do). */
  perDoc(): Promise<BaselineRate>;
  /** Runs the helpers.bulk loop once, untimed (helpersBulk does it first if this was not called). */
  warmUp(): Promise<void>;
  /** The client's bulk helper (its defaults: 5 MB flushes, 5 requests in flight). */
  helpersBulk(): Promise<BaselineRate>;
}

/**
 * Two loops a user would otherwise write, fed batch by batch (the pipeline's batch size)
 * from the same reads: read a batch, write it, read the next (`lanes` of them at once, each
 * taking the next batch). Each run writes a fresh index.
 */
export function createBaselines(ctx: BenchContext, lanes = 1): Baselines {
  const reader = createCosmosReader(ctx.cosmos, { database: DATABASE, container: CONTAINER });
  // The pipeline's batch (SYNC_BATCH_SIZE, from the environment or its default), so both send bulk requests of the same size.
  const BATCH = settingsSchema.shape.SYNC_BATCH_SIZE.parse(process.env.SYNC_BATCH_SIZE);
  let runs = 0;
  const run = async (
    name: string,
    docs: number,
    write: (alias: string, batch: Record<string, unknown>[]) => Promise<void>,
  ): Promise<BaselineRate> => {
    const alias = `bench-${name}-${Date.now().toString(36)}`;
    await ctx.createAlias(alias);
    try {
      const meter = await cpuMeter({ bench: process.pid, ...(await ctx.pids()) });
      const cpu = process.cpuUsage();
      const started = performance.now();
      // Profiled as the pipeline's drains are (BENCH_PROFILE): the two profiles side by side, and
      // the sampler's own cost on both sides of the CPU ratio.
      await profiled(`${name}-${++runs}`, async () => {
        let next = 0;
        const lane = async () => {
          while (next < docs) {
            const from = next;
            next += BATCH;
            await write(alias, await readBatch(reader, from, Math.min(BATCH, docs - from)));
          }
        };
        await Promise.all(Array.from({ length: lanes }, lane));
      });
      const rate = rateOf(docs, performance.now() - started);
      const used = process.cpuUsage(cpu);
      const cores = await meter.stop();
      await ctx.elastic.indices.refresh({ index: alias });
      const { count } = await ctx.elastic.count({ index: alias });
      if (count !== docs) throw new Error(`${name} indexed ${count} of ${docs} documents`);
      // The loop's own CPU, comparable with the pipeline's workerCpuMsPer1kDocs: on two shared
      // cores, whatever either spends is taken from Elasticsearch. Measured as the pipeline's is
      // (process.cpuUsage around the timed part, every thread of the process), to a tenth of a
      // millisecond; it was the meter's cores (rounded to 0.01 of a core) times the wall time,
      // which at the loop's 0.05 to 0.1 cores moved the figure by up to a fifth.
      const cpuMsPer1kDocs = Math.round(((used.user + used.system) / docs) * 10) / 10;
      return { ...rate, cores, cpuMsPer1kDocs };
    } finally {
      await ctx.dropAlias(alias);
    }
  };

  const helpersBulkWrite = async (alias: string, batch: Record<string, unknown>[]) => {
    const stats = await ctx.elastic.helpers.bulk({
      datasource: batch,
      onDocument: (document) => ({ index: { _index: alias, _id: String(document.id) } }),
    });
    if (stats.failed > 0) throw new Error(`helpers.bulk failed ${stats.failed} documents`);
  };
  // Like for like: the pipeline's process drains keys of its own before its first timed drain
  // (pipeline-child.ts), so the loop runs once untimed too, and no round compares warm code with cold.
  let warm: Promise<void> | undefined;
  const warmUp = () =>
    (warm ??= run("helpers-bulk-warm", Math.min(WARM_DOCS, ctx.sizes.helpersBulkDocs), helpersBulkWrite).then(
      () => undefined,
    ));

  return {
    warmUp,
    perDoc: () =>
      run("per-doc", ctx.sizes.perDocDocs, async (alias, batch) => {
        for (const document of batch) await ctx.elastic.index({ index: alias, id: String(document.id), document });
      }),
    helpersBulk: async () => {
      await warmUp();
      return run("helpers-bulk", ctx.sizes.helpersBulkDocs, helpersBulkWrite);
    },
  };
}
