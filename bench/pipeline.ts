import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { spawnTs } from "./child.js";
import { cpuMeter, type Cores } from "./cpu.js";
import type { BenchContext } from "./context.js";
import { roundSource, type PipelineResult } from "./pipeline-protocol.js";
import { WORKER_NODE_FLAGS } from "./worker-process.js";

export interface PipelineRound extends PipelineResult {
  /** Documents in the index afterwards: only what reached it counts. */
  readonly docs: number;
  readonly complete: boolean;
  readonly cores: Cores | undefined;
  readonly docsPerSec: number;
  readonly cpuMsPer1kDocs: number;
}

export interface Pipeline {
  /** Drains the next round's keys (ctx.sizes.pipelineDocs of them) into its own fresh index. */
  round(): Promise<PipelineRound>;
  /** Ends the process and drops its indices. */
  close(): Promise<void>;
}

/**
 * The driftless pipeline in its own process with the production settings (plus `extraEnv`),
 * warm (it drains keys of its own first), ready to run `rounds` timed drains, each from the
 * first claim until the queue is empty. The process stays up between rounds, as a worker does,
 * so that the bench can measure other things in between. The index is checked after each drain:
 * every key must be there.
 */
export async function startPipeline(
  ctx: BenchContext,
  rounds: number,
  extraEnv: Record<string, string> = {},
): Promise<Pipeline> {
  const stamp = Date.now().toString(36);
  const aliasOf = (name: string) => `bench-pipeline-${name}-${stamp}`;
  const names = ["warm", ...Array.from({ length: rounds }, (_, i) => roundSource(i + 1))];
  const env = ctx.env(
    names.map((name) => ctx.source(name, aliasOf(name))),
    extraEnv,
  );
  // With worker mode's Node.js flags, as every worker process of the bench: its heap cap costs CPU
  // and saves memory (docs/operations.md), so the figures are those of the worker as it is run.
  const child = spawnTs(
    "bench/pipeline-child.ts",
    [String(ctx.sizes.pipelineDocs), String(rounds)],
    env,
    "",
    WORKER_NODE_FLAGS,
  );
  const messages = inbox(child);
  const dropAll = () => Promise.all(names.map((name) => ctx.dropAlias(aliasOf(name)))).then(() => undefined);
  try {
    const ready = await messages.next();
    if (ready !== "ready") throw new Error(`the pipeline process sent ${JSON.stringify(ready)} instead of "ready"`);
  } catch (error) {
    if (child.exitCode === null) child.kill();
    await dropAll();
    throw error;
  }

  let done = 0;
  return {
    async round() {
      if (done === rounds) throw new Error(`the pipeline process was started for ${rounds} rounds`);
      const alias = aliasOf(roundSource(++done));
      child.send("go");
      if ((await messages.next()) !== "started") throw new Error("the pipeline process did not start its round");
      const meter = await cpuMeter({ worker: child.pid, ...(await ctx.pids()) });
      const result = (await messages.next()) as PipelineResult;
      const cores = await meter.stop();
      await ctx.elastic.indices.refresh({ index: alias });
      const { count } = await ctx.elastic.count({ index: alias });
      await ctx.dropAlias(alias);
      // Only what reached the index counts: a drain that ended with keys waiting out a retry is slower, not faster.
      return {
        ...result,
        docs: count,
        complete: count === ctx.sizes.pipelineDocs,
        cores,
        docsPerSec: Math.round((count / result.ms) * 1000),
        cpuMsPer1kDocs: Math.round((result.cpuMs / Math.max(1, count)) * 1000 * 10) / 10,
      };
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.send("exit");
        const timer = setTimeout(() => child.kill(), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await dropAll();
    },
  };
}

/**
 * The child's messages in order, whenever they are read; a child that exits or fails rejects the
 * reads still waiting.
 */
export function inbox(child: ChildProcess, name = "pipeline") {
  const queued: unknown[] = [];
  const waiting: { resolve(message: unknown): void; reject(error: Error): void }[] = [];
  let ended: Error | undefined;
  child.on("message", (message) => {
    const reader = waiting.shift();
    if (reader) reader.resolve(message);
    else queued.push(message);
  });
  const end = (error: Error) => {
    ended ??= error;
    for (const reader of waiting.splice(0)) reader.reject(ended);
  };
  child.on("error", end);
  child.on("exit", (code, signal) => end(new Error(`the ${name} process exited (${signal ?? code})`)));
  return {
    next(): Promise<unknown> {
      if (queued.length > 0) return Promise.resolve(queued.shift());
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}
