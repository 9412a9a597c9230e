import autocannon from "autocannon";
import type { BenchContext } from "./context.js";
import { cpuMeter, formatCores, type Cores } from "./cpu.js";
import { benchKey } from "./docs.js";
import { startGoProducer, type GoProducer } from "./go-reference.js";
import { startWorkerProcess } from "./worker-process.js";

export interface HttpRun {
  readonly requestsPerSec: number;
  readonly keysPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly connections: number;
  readonly errors: number;
  /** Cores each process used during the run: the server (driftless's worker or the Go reference), this process (autocannon), Redis, the rest of the machine. */
  readonly cores: Cores;
  /** Cores the server used over the run, from /proc/<pid>/stat utime + stime. */
  readonly serverCores: number;
  /** requestsPerSec ÷ serverCores: what one core of the server answers, the figure to compare with other producers. */
  readonly requestsPerSecPerServerCore: number | null;
}

/** Single-key requests of driftless and of the Go reference, side by side: one pair after another. */
export interface GoReferenceRuns {
  /** The Go reference producer's runs, each right after a driftless run of the same load. */
  readonly runs: readonly HttpRun[];
  /** driftless's requests per server core ÷ the Go reference's, per pair. */
  readonly perCoreRatios: readonly number[];
}

/** Pairs of runs for the side-by-side ratio: the host's speed moves, so one pair could mislead. */
const GO_PAIRS = 2;

/**
 * The HTTP producer in worker mode (`driftless worker` with the sync and capture off, so only the
 * producer runs) under autocannon in this process, on the same cores: single-key requests, then
 * requests of 1000 keys (ENQUEUE_MAX_ITEMS). Keys vary, as real producers' do. When a Go toolchain
 * is at hand, the Go reference producer (bench/go-producer) answers the same single-key load right
 * after each of GO_PAIRS driftless runs, on the same Redis keys: the per-core figure as a ratio
 * measured side by side.
 */
export async function measureHttp(ctx: BenchContext, log: (line: string) => void) {
  const alias = `bench-http-${Date.now().toString(36)}`;
  const env = ctx.env([ctx.source("bench", alias)], { WORKER_SYNC: "false", CAPTURE_ENABLED: "false" });
  const worker = await startWorkerProcess(env, "http-worker");
  let go: GoProducer | undefined;
  try {
    const endpoint = `${worker.url}/sources/bench/enqueue`;
    const body = (first: number, count: number) =>
      JSON.stringify({ items: Array.from({ length: count }, (_, i) => benchKey((first + i) % ctx.sizes.docs)) });
    const run = async (
      keysPerRequest: number,
      connections: number,
      server: { readonly name: string; readonly endpoint: string; readonly pid: number } = {
        name: "driftless",
        endpoint,
        pid: worker.pid,
      },
    ): Promise<HttpRun> => {
      const bodies = Array.from({ length: Math.ceil(ctx.sizes.docs / keysPerRequest) }, (_, i) =>
        body(i * keysPerRequest, keysPerRequest),
      );
      let next = 0;
      const meter = await cpuMeter({ server: server.pid, autocannon: process.pid, redis: (await ctx.pids()).redis });
      const result = await autocannon({
        url: server.endpoint,
        method: "POST",
        connections,
        duration: ctx.sizes.httpSeconds,
        headers: { "content-type": "application/json" },
        requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length]! }) }],
      });
      const cores = await meter.stop();
      const ok = result.requests.total - result.non2xx;
      const seconds = result.duration;
      const requestsPerSec = Math.round(ok / seconds);
      const summary: HttpRun = {
        requestsPerSec,
        keysPerSec: requestsPerSec * keysPerRequest,
        p50Ms: result.latency.p50,
        p90Ms: result.latency.p90,
        p99Ms: result.latency.p99,
        connections,
        errors: result.errors + result.timeouts + result.non2xx,
        cores,
        serverCores: cores.server ?? 0,
        requestsPerSecPerServerCore: cores.server ? Math.round(requestsPerSec / cores.server) : null,
      };
      log(
        `  ${server.name}, ${keysPerRequest} key(s)/request, ${connections} connections: ${summary.requestsPerSec} req/s, ${summary.keysPerSec} keys/s, ` +
          `p50 ${summary.p50Ms} ms, p90 ${summary.p90Ms} ms, p99 ${summary.p99Ms} ms, errors ${summary.errors}, ` +
          `${summary.requestsPerSecPerServerCore ?? "n/a"} req/s per server core (cores: ${formatCores(cores)})`,
      );
      return summary;
    };
    // A short warm-up, so the timed runs see warm code on both sides.
    const warmUp = (url: string) =>
      autocannon({
        url,
        method: "POST",
        connections: 16,
        duration: 1,
        headers: { "content-type": "application/json" },
        body: body(0, 1),
      });
    await warmUp(endpoint);
    const started = await startGoProducer(env, "bench");
    if ("skipped" in started) log(`  ${started.skipped}; no side-by-side figure`);
    else {
      go = started.producer;
      await warmUp(go.endpoint);
    }
    // 50 connections: the load the single-key target (issue 25) and the Go peer's figure were taken at.
    const single = await run(1, 50);
    let goReference: GoReferenceRuns | undefined;
    if (go) {
      const reference = { name: "Go reference", endpoint: go.endpoint, pid: go.pid };
      const runs: HttpRun[] = [];
      const perCoreRatios: number[] = [];
      for (let pair = 0; pair < GO_PAIRS; pair++) {
        const ours = pair === 0 ? single : await run(1, 50);
        const theirs = await run(1, 50, reference);
        runs.push(theirs);
        if (ours.requestsPerSecPerServerCore && theirs.requestsPerSecPerServerCore)
          perCoreRatios.push(
            Math.round((ours.requestsPerSecPerServerCore / theirs.requestsPerSecPerServerCore) * 100) / 100,
          );
      }
      goReference = { runs, perCoreRatios };
    }
    const batched = await run(1000, 8);
    return { single, batched, goReference };
  } finally {
    await go?.stop();
    await worker.stop();
  }
}
