/**
 * The driftless pipeline in a process of its own, so that its CPU time and memory are its own:
 * the production composition root (createServices) over the real services, draining keys that
 * are already in the queue: claim → Cosmos reads → mapping → bulk → acks.
 *
 * DRIFTLESS_SOURCES holds sources over the same container: `warm` (a drain first, so the timed
 * ones run on warm code, as a long-lived worker does) and `round1` … `roundN` (timed, each into an
 * index of its own). Arguments: the keys each timed drain processes, and N. The process sends
 * `"ready"` once warm, then, for each `"go"` it receives, runs the next round: `"started"` when
 * its timed part begins, then a PipelineResult. It exits when it receives `"exit"`.
 */
import { on } from "node:events";
import { loadConfig } from "../shared/config/index.js";
import { createServices, type SourceRuntime } from "../shared/runtime/services.js";
import { drain } from "../shared/sync/drain.js";
import { silentLogger } from "../shared/telemetry/logger.js";
import { benchKey } from "./docs.js";
import { profiled } from "./inspector-profile.js";
import { roundSource, type PipelineResult } from "./pipeline-protocol.js";

// A long-lived worker runs optimized code; a short warm drain (a few batches) left the timed one
// compiling and tiering up its per-batch functions, which cost QUICK runs more CPU per document
// than full ones, where it is spread over 10 times the keys (figures in bench/results/history.md).
const WARM_KEYS = 10_000;

const keys = Number(process.argv[2]);
const rounds = Number(process.argv[3]);
const send = (message: unknown) =>
  process.send?.(message) ?? fail("run this through bench/pipeline.ts (it needs an IPC channel)");
// Buffers the parent's messages from here on, so that none is missed between two rounds.
const messages = on(process, "message");
const config = loadConfig(process.env);
const services = createServices(config, silentLogger);
try {
  await services.ensureIndexes();
  const source = (name: string): SourceRuntime => services.sources.get(name) ?? fail(`no source ${name}`);
  const enqueue = (name: string, count: number) =>
    source(name).queue.enqueue(
      Array.from({ length: count }, (_, n) => benchKey(n)),
      { lane: "live", now: Date.now() },
    );
  const drainTimed = async (name: string) => {
    const cpu = process.cpuUsage();
    const loop = performance.eventLoopUtilization();
    const started = performance.now();
    const report = await profiled(`pipeline-${name}`, () =>
      drain(source(name).sync, {
        budgetMs: 600_000,
        concurrency: config.sync.concurrency,
        idlePollMs: config.sync.idlePollMs,
        untilIdle: true,
      }),
    );
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const eventLoopBusy = Math.round(performance.eventLoopUtilization(loop).utilization * 100) / 100;
    return { ms, cpuMs: (used.user + used.system) / 1000, eventLoopBusy, report };
  };

  await enqueue("warm", Math.min(WARM_KEYS, keys));
  await drainTimed("warm");
  send("ready");
  // "go" runs the next round; "exit" ends the process (only then: its CPU time stays readable
  // from /proc while the parent reads it after a round).
  for (let round = 1; ; round++) {
    const [message] = (await messages.next()).value as [unknown];
    if (message === "exit") break;
    if (message !== "go" || round > rounds)
      fail(`expected "go" for round ${round} of ${rounds} or "exit", got ${JSON.stringify(message)}`);
    await enqueue(roundSource(round), keys);
    send("started");
    const timed = await drainTimed(roundSource(round));
    send({ ...timed, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) } satisfies PipelineResult);
  }
} finally {
  await services.close();
  process.disconnect?.();
}

function fail(message: string): never {
  throw new Error(message);
}
