import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  startCosmosEmulator,
  type CosmosEmulatorHandle,
  type CosmosEmulatorOptions,
} from "../../scripts/stack/cosmos.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { drainReporting } from "./support/batches.js";
import { drained, queueProbe } from "./support/checks.js";
import { recordFigures } from "./support/figures.js";
import { fieldOf, messageOf } from "../setup/logs.js";
import { attemptsSpent } from "./support/spent.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

const DOCS = 20;
const ROUNDS = 6;
/**
 * An account out of request units most of each second: every request in the first 600 ms of a
 * second of the clock is refused, while the SDK's own retries (5, a few ms apart) last a few
 * tens of ms.
 */
const THROTTLE = { periodMs: 1000, forMs: 600, retryAfterMs: 5 };

/**
 * Two ways Cosmos answers part of a batch of reads:
 * - per operation: a partition whose request units run out partway through a bulk request serves
 *   its first operations and answers the rest 429 in the same response, which @azure/cosmos's
 *   bulk path hands back unretried (the emulator serves 40 operations of each bulk request here);
 * - per request: an account that refuses most requests but not all (after every 2nd document
 *   request, that one and the 4 after it get 429), so that the SDK's 6 tries of a request fail
 *   together for some of a batch's bulk requests (read again one by one) and not for others.
 */
const PARTIAL_THROTTLES = [
  {
    name: "per operation",
    line: "40 operations of each bulk request served",
    throttle: { bulkOpsServed: 40, retryAfterMs: 1 },
  },
  {
    name: "per request",
    line: "runs of 5 refusals, one pass between",
    throttle: { every: 2, burst: 5, retryAfterMs: 1 },
  },
] as const;
const PARTIAL_DOCS = 300;

/**
 * What a production Cosmos DB does that a single in-memory copy does not: replicas that lag the
 * writer, and throttling (429) that outlasts the SDK's own retries. Each scenario runs its own
 * emulator with the behaviour switched on, worker processes capturing the change feed, and a
 * writer making rapid updates; at the end the index must equal Cosmos version by version, with no
 * attempt spent and no dead letter.
 */
describe("fault: Cosmos DB consistency and throttling", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  type EmulatorOptions = Omit<CosmosEmulatorOptions, "dir">;

  /** An emulator of its own with the behaviour switched on, a source on it (`env` added), and its services. */
  async function ownStack(options: EmulatorOptions, env: Record<string, string>) {
    const dir = await mkdtemp(join(tmpdir(), "driftless-fault-consistency-"));
    const emulator: CosmosEmulatorHandle = await startCosmosEmulator({ dir, ...options });
    cleanups.push(
      () => rm(dir, { recursive: true, force: true }),
      () => emulator.stop(),
    );
    const source: TestSource = await createTestSource({
      env: {
        COSMOS_ENDPOINT: emulator.endpoint,
        COSMOS_CA_FILE: emulator.caFile,
        CIRCUIT_FAILURE_THRESHOLD: "3",
        CIRCUIT_HALF_OPEN_AFTER_MS: "200",
        CIRCUIT_HALF_OPEN_MAX_MS: "1000",
        ...env,
      },
    });
    cleanups.push(() => source.dispose());
    const services: Services = createServices(source.config, silentLogger);
    cleanups.push(() => services.close());
    await services.ensureIndexes();
    return { source, services };
  }

  async function scenario(options: EmulatorOptions) {
    const { source, services } = await ownStack(options, {
      CAPTURE_ENABLED: "true",
      CAPTURE_MODE: "allVersionsAndDeletes",
      CAPTURE_START_FROM: "now",
      CAPTURE_POLL_MS: "50",
      SYNC_BATCH_SIZE: "10",
    });
    const workers: WorkerProcess[] = [
      spawnWorker("consistency-a", { ...source.env, CAPTURE_ENABLED: "true" }),
      spawnWorker("consistency-b", { ...source.env, CAPTURE_ENABLED: "true" }),
    ];
    cleanups.push(() => Promise.all(workers.map((worker) => worker.kill())));
    await Promise.all(workers.map((worker) => worker.url()));
    // The capture reads from "now": once a first document arrives, a reader is in place. Written
    // again only after a wait longer than the replica lag, so that the write can be read at all.
    for (let attempt = 1; ; attempt++) {
      await throttledRetry(() =>
        source.container.items.upsert({ id: "probe", tenant: "t0", title: "probe", n: -attempt }),
      );
      try {
        await eventually(async () => expect((await source.indexed()).get("probe")?.source.n).toBe(-attempt), {
          timeoutMs: 8_000,
          intervalMs: 300,
        });
        break;
      } catch (error) {
        if (attempt >= 8) throw error;
      }
    }
    return { source, services, workers };
  }

  /** Rapid updates: every document written ROUNDS times, a few in the same second. */
  async function rapidUpdates(source: TestSource): Promise<number> {
    let writes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < DOCS; i++) {
        await throttledRetry(() =>
          source.container.items.upsert({ id: `d${i}`, tenant: `t${i % 3}`, title: `round ${round}`, n: round }),
        );
        writes++;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return writes;
  }

  it("replica lag: reads outside the writer's session that lag behind are read again, never written for good", async () => {
    const { source, services, workers } = await scenario({ replicaLagMs: 1500 });
    const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
    const writes = await rapidUpdates(source);
    await eventually(async () => expect(await differences(source)).toEqual([]), { timeoutMs: 60_000, intervalMs: 500 });
    await drained(services.sources.get(source.name)!.queue);
    // Converged, and stays so: nothing still owed that would change it.
    expect(await differences(source)).toEqual([]);
    const deferred = workers
      .flatMap((worker) => worker.logs())
      .filter(
        (line) => messageOf(line) === "stale reads: Cosmos served versions older than captured; reading them again",
      )
      .reduce((n, line) => n + Number(fieldOf(line, "deferred") ?? 0), 0);
    const stats = await services.sources.get(source.name)!.queue.stats(Date.now());
    const spent = await attemptsSpent(workers, source.name);
    const line = `replica lag 1.5 s: ${writes} writes to ${DOCS} documents; index equals Cosmos version by version; ${deferred} stale reads read again (from logs), dead letters ${stats.deadLettered}, attempts spent ${spent}`;
    console.log(`[faults] ${line}`);
    // The lag really served stale reads (else the scenario proved nothing), and each was read again.
    expect(deferred).toBeGreaterThan(0);
    expect({ spent, dead: stats.deadLettered, attemptsLeft: await probe.attempts() }).toEqual({
      spent: 0,
      dead: 0,
      attemptsLeft: 0,
    });
    await probe.close();
    await recordFigures("cosmos-consistency", "replica lag", line, {
      "replica lag (ms)": 1500,
      writes,
      documents: DOCS,
      "stale reads read again": deferred,
      "attempts spent": spent,
      "dead letters": stats.deadLettered,
      mismatches: 0,
    });
  }, 240_000);

  it("throttling that outlasts the SDK's retries pauses the sync, spends no attempt and loses nothing", async () => {
    const { source, services, workers } = await scenario({ throttle: THROTTLE });
    const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
    let maxAttempts = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        maxAttempts = Math.max(maxAttempts, await probe.attempts());
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const writes = await rapidUpdates(source);
    // Capture reads the feed in the open part of a second and the sync follows within
    // milliseconds, so it could miss the refusals altogether. Every key again, as the HTTP producer
    // would send it, just as a refusal begins: the sync's reads of them meet it.
    await new Promise((resolve) => setTimeout(resolve, THROTTLE.periodMs - (Date.now() % THROTTLE.periodMs) + 20));
    const keys = Array.from({ length: DOCS }, (_, i) => ({ id: `d${i}`, pk: `t${i % 3}` }));
    await services.sources.get(source.name)!.queue.enqueue(keys, { lane: "live", now: Date.now() });
    // The comparison's own Cosmos reads meet the refusals too; a 429 there says nothing about the sync.
    await eventually(async () => expect(await throttledRetry(() => differences(source))).toEqual([]), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await drained(services.sources.get(source.name)!.queue);
    watching = false;
    await watch;
    const logs = workers.flatMap((worker) => worker.logs());
    const throttledPauses = logs.filter(
      (line) =>
        messageOf(line) === "sync paused: keys released without spending an attempt" &&
        fieldOf(line, "kind") === "throttled",
    ).length;
    const stats = await services.sources.get(source.name)!.queue.stats(Date.now());
    const spent = await attemptsSpent(workers, source.name);
    const line = `cosmos throttling (${THROTTLE.forMs} ms of every ${THROTTLE.periodMs} ms refused): ${writes} writes; ${throttledPauses} throttled pauses, attempts spent ${spent}, dead letters ${stats.deadLettered}; index equals Cosmos`;
    console.log(`[faults] ${line}`);
    expect(throttledPauses).toBeGreaterThan(0);
    expect({ spent, maxAttempts, dead: stats.deadLettered }).toEqual({ spent: 0, maxAttempts: 0, dead: 0 });
    await probe.close();
    await recordFigures("cosmos-consistency", "throttling", line, {
      "refused ms of every 1000": THROTTLE.forMs,
      writes,
      "throttled pauses": throttledPauses,
      "attempts spent": spent,
      "dead letters": stats.deadLettered,
      mismatches: 0,
    });
  }, 300_000);

  it.each(PARTIAL_THROTTLES)(
    "throttling $name that refuses part of a batch: the reads Cosmos answered are written, only the rest wait",
    async ({ name, line: how, throttle }) => {
      const { source, services } = await ownStack({ throttle }, { SYNC_BATCH_SIZE: String(PARTIAL_DOCS) });
      const keys = Array.from({ length: PARTIAL_DOCS }, (_, i) => ({ id: `p${i}`, pk: `t${i % 7}` }));
      for (const [n, key] of keys.entries())
        await throttledRetry(() => source.container.items.upsert({ id: key.id, tenant: key.pk, title: `doc ${n}`, n }));

      const runtime = services.sources.get(source.name)!;
      await runtime.queue.enqueue(keys, { lane: "live", now: Date.now() });
      const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
      cleanups.push(() => probe.close());
      // One batch claims every key; Cosmos answers some of its bulk requests and refuses the rest
      // past the SDK's retries. The keys it answered are written in that batch, the rest released.
      const { report, reports, partly } = await drainReporting(runtime.sync);
      const line = `cosmos throttling part of a batch ${name} (${how}): ${PARTIAL_DOCS} keys in ${reports.length} batches, ${partly.length} written in part and paused; ${report.released} releases, attempts spent ${await probe.attempts()}`;
      console.log(`[faults] ${line}`);
      expect(partly.length).toBeGreaterThan(0);
      expect(partly.every((batch) => batch.pause?.kind === "throttled")).toBe(true);
      expect({ retried: report.retried, dead: report.deadLettered, attempts: await probe.attempts() }).toEqual({
        retried: 0,
        dead: 0,
        attempts: 0,
      });
      expect(await runtime.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
      expect(await throttledRetry(() => differences(source))).toEqual([]);
      await recordFigures("cosmos-consistency", `partial throttling ${name}`, line, {
        keys: PARTIAL_DOCS,
        batches: reports.length,
        "batches written in part": partly.length,
        releases: report.released,
        "attempts spent": 0,
        mismatches: 0,
      });
    },
    240_000,
  );
});

/** The test's own reads and writes meet the same throttling; as an application would, it tries again. */
async function throttledRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 429 || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
