/**
 * The driftless pipeline in a process of its own, so that its CPU time and memory are its own:
 * the production composition root (createServices) over the real services, draining keys that
 * are already in the queue: claim → Cosmos reads → mapping → bulk → acks.
 *
 * DRIFTLESS_SOURCES holds two sources over the same container: `warm` (a short drain first, so
 * the timed one runs on warm code, as a long-lived worker does) and `bench` (timed).
 * Argument: the number of keys the timed drain processes. Sends one PipelineResult over IPC.
 */
import { loadConfig } from "../shared/config/index.js";
import { createServices, type SourceRuntime } from "../shared/runtime/services.js";
import { drain, type DrainReport } from "../shared/sync/drain.js";
import { silentLogger } from "../shared/telemetry/logger.js";
import { benchKey } from "./docs.js";
import { profiled } from "./inspector-profile.js";

export interface PipelineResult {
  readonly ms: number;
  /** User + system CPU of this process during the timed drain. */
  readonly cpuMs: number;
  readonly report: DrainReport;
  readonly maxRssMb: number;
}

// A long-lived worker runs optimized code; a drain of 2,000 keys (4 batches) left the timed one
// compiling and tiering up its per-batch functions: 91-134 ms of worker CPU per 1,000 documents
// in QUICK runs against 79-88 in full ones, where that cost is spread over 10 times the keys.
const WARM_KEYS = 10_000;
const keys = Number(process.argv[2]);
const config = loadConfig(process.env);
const services = createServices(config, silentLogger);
try {
  await services.ensureIndexes();
  const source = (name: string): SourceRuntime => services.sources.get(name) ?? fail(`no source ${name}`);
  const run = async (name: string, count: number, timed: boolean) => {
    const { queue, sync } = source(name);
    await queue.enqueue(Array.from({ length: count }, (_, n) => benchKey(n)), { lane: "live", now: Date.now() });
    if (timed) process.send!("started");
    const cpu = process.cpuUsage();
    const started = performance.now();
    const report = await profiled(`pipeline-${name}`, () =>
      drain(sync, { budgetMs: 600_000, concurrency: config.sync.concurrency, idlePollMs: config.sync.idlePollMs, untilIdle: true }),
    );
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { ms, cpuMs: (used.user + used.system) / 1000, report };
  };
  await run("warm", Math.min(WARM_KEYS, keys), false);
  const timed = await run("bench", keys, true);
  const result: PipelineResult = { ...timed, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  process.send!(result);
} finally {
  await services.close();
}

function fail(message: string): never {
  throw new Error(message);
}
