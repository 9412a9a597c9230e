import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCosmosEmulator, type CosmosEmulatorHandle } from "../../scripts/stack/cosmos.js";
import type { DocKey } from "../../shared/core/keys.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import type { SourceQueue } from "../../shared/sync/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { drain } from "../../shared/sync/drain.js";
import { syncBatch } from "../../shared/sync/engine.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { streamChanges } from "./support/changes.js";
import { drained, indexMatchesCosmos, queueProbe } from "./support/checks.js";
import { fieldOf, messageOf } from "../setup/logs.js";
import { recordFigures } from "./support/figures.js";
import { attemptsSpent } from "./support/spent.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

const OUTAGE_MS = 15_000;
const DOCS = 150;

/**
 * Cosmos DB stops answering (the emulator is paused with SIGSTOP: a restart would lose its data,
 * which lives in memory) while keys are queued, and again in the middle of a reimport. The
 * workers must release what they claimed without spending attempts, dead-letter nothing, and
 * catch up once Cosmos answers again; the reimport must resume, not fail. This file runs its own
 * emulator, since it pauses it.
 */
describe("fault: Cosmos DB outage", () => {
  let dir: string;
  let emulator: CosmosEmulatorHandle;
  let source: TestSource;
  let services: Services;
  let queue: SourceQueue;
  const workers: WorkerProcess[] = [];
  const keys: DocKey[] = Array.from({ length: DOCS }, (_, i) => ({ id: `c${i}`, pk: `t${i % 5}` }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-fault-cosmos-"));
    emulator = await startCosmosEmulator({ dir });
    source = await createTestSource({
      env: {
        COSMOS_ENDPOINT: emulator.endpoint,
        COSMOS_CA_FILE: emulator.caFile,
        COSMOS_REQUEST_TIMEOUT_MS: "2000",
        SYNC_BATCH_SIZE: "20",
        QUEUE_LEASE_MS: "15000",
        QUEUE_REAP_INTERVAL_MS: "1000",
        CIRCUIT_FAILURE_THRESHOLD: "2",
        CIRCUIT_HALF_OPEN_AFTER_MS: "1000",
        CIRCUIT_HALF_OPEN_MAX_MS: "3000",
        REIMPORT_PAGE_SIZE: "25",
        JOBS_LEASE_MS: "5000",
      },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    queue = services.sources.get(source.name)!.queue;
    workers.push(spawnWorker("cosmos-a", source.env), spawnWorker("cosmos-b", source.env));
  }, 300_000);

  afterAll(async () => {
    emulator?.resume();
    await Promise.all(workers.map((worker) => worker.kill()));
    await services?.close();
    await source?.dispose();
    await emulator?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const logged = (message: string) =>
    workers.flatMap((worker) => worker.logs()).filter((line) => messageOf(line) === message);

  it("an outage while keys are queued spends no attempts, dead-letters nothing, and the index catches up", async () => {
    const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
    await Promise.all(workers.map((worker) => worker.url()));
    const stream = streamChanges({
      container: source.container,
      keys,
      enqueue: (changed) => queue.enqueue(changed, { lane: "live", now: Date.now() }),
    });
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const counts = await stream.stop();

    // Every key changed again just before Cosmos goes away: the backlog the outage must not spend.
    await queue.enqueue(keys, { lane: "live", now: Date.now() });
    emulator.pause();
    const seen = { polls: 0, maxAttempts: 0, maxDead: 0 };
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < OUTAGE_MS) {
      const stats = await queue.stats(Date.now());
      seen.polls++;
      seen.maxDead = Math.max(seen.maxDead, stats.deadLettered);
      seen.maxAttempts = Math.max(seen.maxAttempts, await probe.attempts());
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    emulator.resume();

    await drained(queue);
    const { mismatches, deadLetters } = await indexMatchesCosmos(source, queue);
    const attemptsAfter = await probe.attempts();
    await probe.close();
    const released = logged("sync paused: keys released without spending an attempt").reduce(
      (n, line) => n + Number(fieldOf(line, "released") ?? 0),
      0,
    );
    const spent = await attemptsSpent(workers, source.name);
    const line =
      `cosmos outage: ${counts.changes} changes, then ${DOCS} keys queued and Cosmos paused ${OUTAGE_MS / 1000} s; ` +
      `${released} keys released, attempts spent ${spent}, dead letters ${deadLetters}, final mismatches ${mismatches.length}`;
    console.log(`[faults] ${line}`);
    expect(released).toBeGreaterThan(0);
    // The workers' counters: a single attempt spent at any moment makes `spent` 1.
    expect({ spent, attemptsDuring: seen.maxAttempts, attemptsAfter, deadDuring: seen.maxDead, deadLetters }).toEqual({
      spent: 0,
      attemptsDuring: 0,
      attemptsAfter: 0,
      deadDuring: 0,
      deadLetters: 0,
    });
    expect(mismatches).toEqual([]);
    expect(logged("cosmos circuit open").length).toBeGreaterThan(0);
    await recordFigures("cosmos-outage", "outage with keys queued", line, {
      "changes before": counts.changes,
      "keys queued": DOCS,
      "Cosmos paused (s)": OUTAGE_MS / 1000,
      "keys released": released,
      "attempts spent": spent,
      "dead letters": deadLetters,
      mismatches: mismatches.length,
    });
  }, 300_000);

  it("an outage in the middle of a reimport pauses it, and it resumes and succeeds", async () => {
    // This test runs the job itself, a chunk at a time, so that the outage surely falls mid-way.
    await Promise.all(workers.splice(0).map((worker) => worker.kill()));
    const job = await services.jobs.start("reimport", source.name);
    await services.jobs.runChunk(job.id, 30_000, { maxPages: 1 });
    emulator.pause();
    // A runner working through the outage: its pages fail and are counted, the job goes on.
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < OUTAGE_MS) await services.jobs.runChunk(job.id, 3_000);
    const during = (await services.jobs.get(job.id))!;
    emulator.resume();
    let done: Job | undefined = during;
    for (let chunk = 0; chunk < 50 && !isTerminal(done!.state); chunk++) {
      await services.jobs.runChunk(job.id, 10_000);
      done = await services.jobs.get(job.id);
    }
    const { resources } = await source.container.items.readAll().fetchAll();
    const line = `cosmos outage mid-reimport: state during the outage ${during.state}, ${during.pages} pages; ended ${done!.state} after ${done!.pages} pages, ${done!.errors} page errors, last error ${JSON.stringify(done!.lastError ?? null)}`;
    console.log(`[faults] ${line}`);
    expect(during.state).toBe("running");
    expect(done).toMatchObject({ state: "succeeded", scanned: resources.length });
    expect((await source.indexed()).size).toBe(resources.length);
    // Equal to Cosmos document by document and version by version, not only in number.
    const mismatches = await differences(source);
    expect(mismatches).toEqual([]);
    await recordFigures("cosmos-outage", "outage mid-reimport", line, {
      "state during the outage": during.state,
      "pages before the outage ended": during.pages,
      "final state": done!.state,
      pages: done!.pages,
      "documents scanned": done!.scanned,
      mismatches: mismatches.length,
    });
  }, 300_000);

  it("an outage between a batch's reads and its related reads releases the keys without spending attempts", async () => {
    // A source with a relation (orders embedding their customer), on the same emulator.
    const customersName = `customers-${Date.now().toString(36)}`;
    const orders = await createTestSource({
      extra: {
        transform: {
          module: fileURLToPath(new URL("../fixtures/transforms/orders-with-customer.js", import.meta.url)),
        },
        relations: [{ name: "customer", container: customersName, foreignKey: "customerId" }],
      },
      env: { COSMOS_ENDPOINT: emulator.endpoint, COSMOS_CA_FILE: emulator.caFile, COSMOS_REQUEST_TIMEOUT_MS: "2000" },
    });
    const ordersServices = createServices(orders.config, silentLogger);
    const probe = queueProbe(orders.env.REDIS_URL!, orders.env.REDIS_KEY_PREFIX!, orders.name);
    try {
      await ordersServices.ensureIndexes();
      const { container: customers } = await orders.container.database.containers.createIfNotExists({
        id: customersName,
        partitionKey: { paths: ["/id"] },
      });
      for (let c = 0; c < 3; c++) await customers.items.upsert({ id: `c${c}`, name: `Customer ${c}` });
      const keys = Array.from({ length: 20 }, (_, i) => ({ id: `o${i}`, pk: `t${i % 4}` }));
      for (const [i, key] of keys.entries())
        await orders.container.items.upsert({
          id: key.id,
          tenant: key.pk,
          customerId: `c${i % 3}`,
          title: `order ${i}`,
        });
      const runtime = ordersServices.sources.get(orders.name)!;
      await runtime.queue.enqueue(keys, { lane: "live", now: Date.now() });

      // The production sync, but Cosmos stops answering right after the batch's own reads: the
      // related customers' query is the first request to meet the outage.
      const report = await syncBatch({
        ...runtime.sync,
        reader: {
          async read(claimed, prepare) {
            const results = await runtime.sync.reader.read(claimed, prepare);
            emulator.pause();
            return results;
          },
        },
      }).finally(() => emulator.resume());
      const attempts = await probe.attempts();
      console.log(
        `[faults] cosmos outage at the related reads: ${report.claimed} claimed, ${report.released} released, ${report.retried} retried, attempts spent ${attempts}, pause ${report.pause?.kind}`,
      );
      expect(report).toMatchObject({ claimed: keys.length, released: keys.length, retried: 0, indexed: 0 });
      expect(report.pause).toMatchObject({ dependency: "cosmos", kind: "unavailable" });
      expect(attempts).toBe(0);

      // Once Cosmos answers, the same keys sync, with their customers embedded.
      await drain(runtime.sync, { budgetMs: 60_000, concurrency: 1, idlePollMs: 20, untilIdle: true });
      expect(await runtime.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
      expect(await differences(orders)).toEqual([]);
    } finally {
      emulator.resume();
      await probe.close();
      await ordersServices.close();
      await orders.dispose();
    }
  }, 120_000);
});
