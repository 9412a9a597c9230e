import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startElasticsearch, type ElasticsearchHandle } from "../../scripts/stack/elasticsearch.js";
import type { DocKey } from "../../shared/core/keys.js";
import { createElasticClient, type Client } from "../../shared/elastic/index.js";
import type { SourceQueue } from "../../shared/sync/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { streamChanges } from "./support/changes.js";
import { drained, indexMatchesCosmos, onCluster, queueProbe } from "./support/checks.js";
import { recordFigures } from "./support/figures.js";
import { fieldOf, messageOf, type LogLine } from "../setup/logs.js";
import { attemptsSpent } from "./support/spent.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

const OUTAGE_MS = 30_000;
const DOCS = 200;

interface Status {
  sources: { name: string; pending: number; inflight: number; deadLettered: number }[];
  circuits: Record<string, string>;
}

/**
 * Elasticsearch goes away for 30 s and more (stopped, then started again, which takes as long
 * again) while changes keep coming, then it throttles every bulk request with a real 429. The
 * workers must release the keys they claimed instead of spending attempts, show the open circuit
 * and the backlog in GET /api/status, and catch up afterwards. This file runs its own
 * Elasticsearch, since it stops it.
 */
describe("fault: Elasticsearch outage and throttling", () => {
  let dir: string;
  let es: ElasticsearchHandle;
  let elastic: Client;
  let source: TestSource;
  let services: Services;
  let queue: SourceQueue;
  const workers: WorkerProcess[] = [];
  const keys = Array.from({ length: DOCS }, (_, i) => ({ id: `e${i}`, pk: `t${i % 5}` }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-fault-es-"));
    await chmod(dir, 0o755);
    es = await startElasticsearch({ dir: join(dir, "es") });
    elastic = createElasticClient({ node: es.url });
    source = await createTestSource({
      env: {
        ELASTICSEARCH_URL: es.url,
        ELASTICSEARCH_REQUEST_TIMEOUT_MS: "5000",
        SYNC_BATCH_SIZE: "20",
        QUEUE_LEASE_MS: "15000",
        QUEUE_REAP_INTERVAL_MS: "1000",
        CIRCUIT_FAILURE_THRESHOLD: "3",
        CIRCUIT_HALF_OPEN_AFTER_MS: "1000",
        CIRCUIT_HALF_OPEN_MAX_MS: "4000",
        // One sync loop per worker: consecutive pauses of a worker are then one loop's, and the
        // gap between them shows how long it waited.
        SYNC_CONCURRENCY: "1",
      },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    queue = services.sources.get(source.name)!.queue;
    workers.push(spawnWorker("es-a", source.env), spawnWorker("es-b", source.env));
  }, 300_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await services?.close();
    await elastic?.close();
    await source?.dispose();
    await es?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const enqueue = (changed: DocKey[]) => queue.enqueue(changed, { lane: "live", now: Date.now() });
  const status = async (): Promise<Status> =>
    (await (await fetch(`${await workers[0]!.url()}/status`)).json()) as Status;
  const logged = (message: string, match: (line: Record<string, unknown>) => boolean = () => true) =>
    workers.flatMap((worker) => worker.logs()).filter((line) => messageOf(line) === message && match(line));

  it("an outage of 30 s and more loses nothing and spends no attempts; circuit and backlog show in the status", async () => {
    const started = Date.now();
    const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
    await Promise.all(workers.map((worker) => worker.url()));
    const stream = streamChanges({ container: source.container, keys, enqueue });
    await new Promise((resolve) => setTimeout(resolve, 5000));

    await es.stop();
    const outageStarted = Date.now();
    const seen = { open: 0, maxBacklog: 0, polls: 0, maxAttempts: 0, maxDead: 0 };
    const watch = async (until: () => boolean) => {
      while (until()) {
        const body = await status();
        const mine = body.sources.find((entry) => entry.name === source.name)!;
        seen.polls++;
        if (body.circuits.elasticsearch === "open") seen.open++;
        seen.maxBacklog = Math.max(seen.maxBacklog, mine.pending + mine.inflight);
        seen.maxDead = Math.max(seen.maxDead, mine.deadLettered);
        seen.maxAttempts = Math.max(seen.maxAttempts, await probe.attempts());
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    await watch(() => Date.now() - outageStarted < OUTAGE_MS);
    // Starting takes as long again on two cores; changes keep coming and the outage goes on.
    let up = false;
    const restarting = es.start().then(() => (up = true));
    await watch(() => !up);
    await restarting;
    const outageMs = Date.now() - outageStarted;
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const counts = await stream.stop();

    await drained(queue);
    const { mismatches, deadLetters } = await indexMatchesCosmos(
      onCluster(source, elastic, source.config.sources[0]!.index),
      queue,
    );
    const attemptsAfter = await probe.attempts();
    await probe.close();
    const spent = await attemptsSpent(workers, source.name);
    const released = logged("sync paused: keys released without spending an attempt").reduce(
      (n, line) => n + Number(fieldOf(line, "released") ?? 0),
      0,
    );

    const line =
      `elasticsearch outage: ${counts.changes} changes sent, 1 outage of ${(outageMs / 1000).toFixed(0)} s (stopped ${OUTAGE_MS / 1000} s + restart), ` +
      `status polled ${seen.polls} times (circuit open in ${seen.open}, backlog up to ${seen.maxBacklog}), ${released} keys released, ` +
      `attempts spent ${spent}, dead letters ${deadLetters}, final mismatches ${mismatches.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    console.log(`[faults] ${line}`);
    for (const retried of logged("keys failed and wait for another attempt"))
      console.log(`[faults] attempt spent: ${String(fieldOf(retried, "firstError"))}`);
    expect(seen.open).toBeGreaterThan(0);
    expect(seen.maxBacklog).toBeGreaterThan(0);
    expect(released).toBeGreaterThan(0);
    // The workers' own counters: one attempt spent anywhere during the run makes `spent` 1.
    expect({ spent, attemptsDuring: seen.maxAttempts, attemptsAfter, deadDuring: seen.maxDead, deadLetters }).toEqual({
      spent: 0,
      attemptsDuring: 0,
      attemptsAfter: 0,
      deadDuring: 0,
      deadLetters: 0,
    });
    expect(mismatches).toEqual([]);
    // A worker with nothing left to do closes its circuit with a probe once the next trial is due
    // (CIRCUIT_HALF_OPEN_MAX_MS at most), not at the moment the queue drained.
    const circuitLines = () =>
      workers[0]!
        .logs()
        .filter((entry) => /circuit|probe|sync batch failed/.test(messageOf(entry)))
        .slice(-12)
        .map((entry) => JSON.stringify(entry))
        .join("\n");
    await eventually(
      async () =>
        expect((await status()).circuits.elasticsearch, `es-a's last circuit lines:\n${circuitLines()}`).toBe("closed"),
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(logged("elasticsearch circuit open").length).toBeGreaterThan(0);
    expect(logged("elasticsearch circuit closed").length).toBeGreaterThan(0);
    await recordFigures("elasticsearch-outage", "outage", line, {
      changes: counts.changes,
      "outage (s)": Math.round(outageMs / 1000),
      "Elasticsearch stopped (s)": OUTAGE_MS / 1000,
      "status polls with the circuit open": seen.open,
      "largest backlog": seen.maxBacklog,
      "keys released": released,
      "attempts spent": spent,
      "dead letters": deadLetters,
      mismatches: mismatches.length,
    });
  }, 300_000);

  it("a 429 on every bulk request slows the sync down instead of spending attempts", async () => {
    const started = Date.now();
    const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
    const throttled = () =>
      logged("sync paused: keys released without spending an attempt", (line) => fieldOf(line, "kind") === "throttled");
    const before = throttled().length;
    const spentBefore = await attemptsSpent(workers, source.name);
    // A real 429 for the whole request: the in-flight requests breaker refuses any bulk body over 1 kB.
    await elastic.cluster.putSettings({ persistent: { "network.breaker.inflight_requests.limit": "1kb" } });
    const stream = streamChanges({ container: source.container, keys, enqueue });
    let maxAttempts = 0;
    try {
      // At least 8 s of throttling, and at least three pauses.
      const atLeast = Date.now() + 8000;
      const until = Date.now() + 60_000;
      while ((throttled().length - before < 3 || Date.now() < atLeast) && Date.now() < until) {
        maxAttempts = Math.max(maxAttempts, await probe.attempts());
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      maxAttempts = Math.max(maxAttempts, await probe.attempts());
    } finally {
      await elastic.cluster.putSettings({ persistent: { "network.breaker.inflight_requests.limit": null } });
    }
    const counts = await stream.stop();
    await drained(queue);
    const { mismatches, deadLetters } = await indexMatchesCosmos(
      onCluster(source, elastic, source.config.sources[0]!.index),
      queue,
    );
    const attemptsAfter = await probe.attempts();
    await probe.close();
    const spent = (await attemptsSpent(workers, source.name)) - spentBefore;
    const pauses = throttled().slice(before);
    const waits = pauses.map((line) => Number(fieldOf(line, "retryInMs")));
    const early = pausesCutShort(
      workers.map((worker) => worker.logs()),
      (line) => fieldOf(line, "kind") === "throttled",
    );

    const line =
      `elasticsearch 429: ${counts.changes} changes sent, ${pauses.length} throttled pauses ` +
      `(waits ${Math.min(...waits)}–${Math.max(...waits)} ms, ${early.length} cut short), attempts spent ${spent}, dead letters ${deadLetters}, ` +
      `final mismatches ${mismatches.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    console.log(`[faults] ${line}`);
    expect(pauses.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...waits)).toBeGreaterThan(0);
    // Each loop's next pause comes no sooner than the wait the previous one asked for.
    expect(early).toEqual([]);
    expect({ spent, maxAttempts, attemptsAfter, deadLetters }).toEqual({
      spent: 0,
      maxAttempts: 0,
      attemptsAfter: 0,
      deadLetters: 0,
    });
    expect(mismatches).toEqual([]);
    await recordFigures("elasticsearch-outage", "throttling", line, {
      changes: counts.changes,
      "throttled pauses": pauses.length,
      "shortest wait asked (ms)": Math.min(...waits),
      "longest wait asked (ms)": Math.max(...waits),
      "pauses cut short": early.length,
      "attempts spent": spent,
      "dead letters": deadLetters,
      mismatches: mismatches.length,
    });
  }, 180_000);
});

/**
 * Pauses that came sooner than the one before them asked, worker by worker (one sync loop each,
 * SYNC_CONCURRENCY 1): for consecutive pause lines a and b of a worker, b logged before
 * a's time + a's `retryInMs`. Log times are milliseconds, so the check allows 5 ms for rounding.
 */
function pausesCutShort(logs: readonly (readonly LogLine[])[], match: (line: LogLine) => boolean): string[] {
  const early: string[] = [];
  logs.forEach((lines, worker) => {
    const pauses = lines.filter(
      (line) => messageOf(line) === "sync paused: keys released without spending an attempt" && match(line),
    );
    for (let i = 1; i < pauses.length; i++) {
      const [a, b] = [pauses[i - 1]!, pauses[i]!];
      const gap = Date.parse(String(a["@timestamp"])) + Number(fieldOf(a, "retryInMs"));
      const at = Date.parse(String(b["@timestamp"]));
      if (at < gap - 5)
        early.push(
          `worker ${worker}: pause ${i} came ${gap - at} ms before the ${String(fieldOf(a, "retryInMs"))} ms asked`,
        );
    }
  });
  return early;
}
