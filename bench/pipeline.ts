import { runChild } from "./child.js";
import { cpuMeter, type Cores } from "./cpu.js";
import type { BenchContext } from "./context.js";
import type { PipelineResult } from "./pipeline-child.js";

/**
 * The driftless pipeline, timed from the first claim until the queue is empty, in its own
 * process with the production settings (plus `extraEnv`). The index is checked afterwards: every
 * key must be there.
 */
export async function measurePipeline(ctx: BenchContext, extraEnv: Record<string, string> = {}) {
  const stamp = Date.now().toString(36);
  const warm = `bench-pipeline-warm-${stamp}`;
  const alias = `bench-pipeline-${stamp}`;
  const env = ctx.env([ctx.source("warm", warm), ctx.source("bench", alias)], extraEnv);
  try {
    let meter: Promise<{ stop(): Promise<Cores> }> | undefined;
    let stopped: Promise<Cores | undefined> | undefined;
    const result = await runChild<PipelineResult>(
      "bench/pipeline-child.ts",
      [String(ctx.sizes.pipelineDocs)],
      env,
      "",
      (pid) => {
        meter = ctx.pids().then((pids) => cpuMeter({ worker: pid, ...pids }));
      },
      () => {
        stopped = meter?.then((running) => running.stop());
      },
    );
    const cores = await stopped;
    await ctx.elastic.indices.refresh({ index: alias });
    const { count } = await ctx.elastic.count({ index: alias });
    // Only what reached the index counts: a drain that ended with keys waiting out a retry is slower, not faster.
    const docsPerSec = Math.round((count / result.ms) * 1000);
    return {
      ...result,
      docs: count,
      complete: count === ctx.sizes.pipelineDocs,
      cores,
      docsPerSec,
      cpuMsPer1kDocs: Math.round((result.cpuMs / Math.max(1, count)) * 1000 * 10) / 10,
    };
  } finally {
    await Promise.all([ctx.dropAlias(warm), ctx.dropAlias(alias)]);
  }
}
