import { setTimeout } from "node:timers/promises";
import type { Container } from "@azure/cosmos";
import { createBenchContainer, type BenchContext } from "./context.js";
import { benchDoc } from "./docs.js";
import { percentile, sleep } from "./measure.js";
import { startWorkerProcess } from "./worker-process.js";

const WRITES_PER_SEC = 20;
const POLL_MS = 50;
const PROBE_WAIT_MS = 3000;
const PROBES = 20;

export interface FreshnessResult {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Time from a Cosmos write to the document being searchable, through the change feed in worker
 * mode with the production defaults: capture polls every CAPTURE_POLL_MS (500 ms), an idle drain
 * every SYNC_IDLE_POLL_MS (250 ms), bulk writes without `refresh`, and the index's default
 * refresh interval (1 s). Searchable means a `_search` finds it: this side polls an `ids` search
 * every 50 ms (which also keeps the index from going search-idle, as a searched index never is).
 * Each document is timed from just before its upsert.
 */
export async function measureFreshness(ctx: BenchContext, log: (line: string) => void): Promise<FreshnessResult> {
  const stamp = Date.now().toString(36);
  const containerName = `fresh-${stamp}`;
  const alias = `bench-fresh-${stamp}`;
  const container = await createBenchContainer(ctx.cosmos, containerName);
  const env = ctx.env([ctx.source("fresh", alias, containerName)], {
    CAPTURE_ENABLED: "true",
    CAPTURE_START_FROM: "now",
  });
  const worker = await startWorkerProcess(env, "fresh-worker");
  try {
    return await timeFreshness(ctx, container, alias, log);
  } finally {
    await worker.stop();
    await container.delete().catch(() => undefined);
    await ctx.dropAlias(alias);
  }
}

/**
 * The timed part, whatever runs the topology: once `container`'s change feed is being followed,
 * probe documents until one comes through, then ctx.sizes.freshnessSamples writes at
 * WRITES_PER_SEC, each timed until an `ids` search on `alias` finds it. Worker mode and the
 * Functions harness (functions-freshness.ts) share it, so their figures are the same measurement.
 */
export async function timeFreshness(
  ctx: BenchContext,
  container: Container,
  alias: string,
  log: (line: string) => void,
  /** Called just before each timed document's upsert, with its id and the wall-clock time. */
  onWrite?: (id: string, atMs: number) => void,
): Promise<FreshnessResult> {
  const written = new Map<string, number>();
  const latencies: number[] = [];
  let writing = true;
  const poller = (async () => {
    while (writing || written.size > 0) {
      await sleep(POLL_MS);
      if (written.size === 0) continue;
      const ids = [...written.keys()];
      const found = await ctx.elastic
        .search({ index: alias, query: { ids: { values: ids } }, _source: false, size: ids.length }, { ignore: [404] })
        .catch(() => undefined);
      const now = performance.now();
      for (const hit of found?.hits?.hits ?? []) {
        const at = written.get(hit._id!);
        if (at === undefined) continue;
        written.delete(hit._id!);
        if (!hit._id!.startsWith("probe")) latencies.push(now - at);
      }
    }
  })();

  // The change-feed reader (worker mode's capture, or the Functions harness's emulated trigger)
  // starts from "now" a moment after its process is up: a probe document must come through
  // before the timed writes start. A probe written before that start is never delivered, so it is
  // given up on (and no longer waited for) after PROBE_WAIT_MS, three times the usual delay, and
  // the next one is written.
  for (let probe = 0; ; probe++) {
    const id = `probe-${probe}`;
    written.set(id, performance.now());
    await container.items.upsert({ ...benchDoc(probe), id });
    const deadline = performance.now() + PROBE_WAIT_MS;
    while (written.has(id) && performance.now() < deadline) await sleep(POLL_MS);
    if (!written.delete(id)) break;
    if (probe + 1 >= PROBES)
      throw new Error(`the change feed delivered none of ${PROBES} probe documents, ${PROBE_WAIT_MS} ms apart`);
  }

  const samples = ctx.sizes.freshnessSamples;
  for (let i = 0; i < samples; i++) {
    const doc = { ...benchDoc(i), id: `fresh-${i}` };
    written.set(doc.id, performance.now());
    onWrite?.(doc.id, Date.now());
    await container.items.upsert(doc);
    await sleep(1000 / WRITES_PER_SEC);
  }
  writing = false;
  // Cancelled when the poller ends first: a pending 30-second timer would keep the whole run
  // from exiting until it fired.
  const timeout = new AbortController();
  const done = await Promise.race([
    poller.then(() => true),
    setTimeout(30_000, false, { signal: timeout.signal }).catch(() => false),
  ]);
  timeout.abort();
  if (!done) {
    written.clear();
    await poller;
  }
  if (latencies.length < samples)
    throw new Error(`only ${latencies.length} of ${samples} documents became searchable within 30 s`);
  latencies.sort((a, b) => a - b);
  const result = {
    samples,
    p50Ms: Math.round(percentile(latencies, 50)),
    p90Ms: Math.round(percentile(latencies, 90)),
    p99Ms: Math.round(percentile(latencies, 99)),
    maxMs: Math.round(latencies[latencies.length - 1]!),
  };
  log(
    `  ${samples} writes at ${WRITES_PER_SEC}/s: p50 ${result.p50Ms} ms, p90 ${result.p90Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`,
  );
  return result;
}
