import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { runJobToEnd } from "../setup/jobs.js";
import { recordFigures } from "./support/figures.js";
import { messageOf } from "../setup/logs.js";
import { spawnWorker } from "../setup/worker-process.js";

const DOCS = 40;

/**
 * A source whose container is missing (a typo in the sources file, a container dropped to be
 * recreated). Cosmos answers every read with 404 and sub-status 1003, which says nothing about
 * the documents: before the fix, reconcile then a sync pass took the index from 40 documents to 0.
 * Now no key is deleted, no attempt is spent, nothing is dead-lettered, and health says why.
 */
describe("fault: the source's container does not exist", () => {
  let source: TestSource;
  let services: Services;
  const docs = Array.from({ length: DOCS }, (_, n) => ({ id: `d${n}`, tenant: `t${n % 4}`, title: `doc ${n}`, n }));
  const keys = docs.map((doc) => ({ id: doc.id, pk: doc.tenant }));

  beforeAll(async () => {
    source = await createTestSource({ env: { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_HALF_OPEN_AFTER_MS: "200" } });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    for (const doc of docs) await source.container.items.create(doc);
    await services.sources.get(source.name)!.queue.enqueue(keys, { lane: "live", now: Date.now() });
    await runSyncPass(services, { budgetMs: 30_000, untilIdle: true });
    expect((await source.indexed()).size).toBe(DOCS);
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  it("reconcile and sync leave the index whole, spend no attempt, and health names the container", async () => {
    await source.container.delete();
    const queue = services.sources.get(source.name)!.queue;

    const job = await runJobToEnd(services, "reconcile", source.name);
    // Nothing the reconcile read said "deleted": every key is unsure and goes back to the sync.
    expect(job).toMatchObject({ state: "succeeded", scanned: DOCS, missing: 0 });

    // The changes captured before the drop (and the reconcile's keys) reach the sync.
    await queue.enqueue(keys, { lane: "live", now: Date.now() });
    const reports = await runSyncPass(services, { budgetMs: 3_000 });
    const report = reports[source.name]!;
    console.log(
      `[fault missing-container] sync pass: ${JSON.stringify({ deleted: report.deleted, deadLettered: report.deadLettered, retried: report.retried })}`,
    );
    expect(report.deleted).toBe(0);
    expect(report.deadLettered).toBe(0);
    expect(report.retried).toBe(0);

    expect((await source.indexed()).size).toBe(DOCS);
    const stats = await queue.stats(Date.now());
    expect(stats.deadLettered).toBe(0);
    expect(stats.pending + stats.inflight).toBe(DOCS);
    const claimed = await queue.claim({ max: DOCS, leaseMs: 1000, now: Date.now() + 60_000, bulkShare: 0.5 });
    expect(claimed.items.every((item) => item.attempts === 0)).toBe(true);

    const health = await services.health();
    expect(health.cosmos).toMatchObject({
      ok: false,
      error: expect.stringContaining(`container not found: driftless-test/${source.name}`),
    });
    expect(services.circuitStates!().cosmos).not.toBe("closed");

    // A worker started on such a source says so at start, naming the container.
    const worker = spawnWorker("missing-container", source.env);
    try {
      await eventually(
        async () => {
          const line = worker
            .logs()
            .find(
              (logged) =>
                messageOf(logged) === "a source's Cosmos container does not exist; its sync waits until it does",
            );
          expect(String(line?.["error.message"])).toContain(`driftless-test/${source.name}`);
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    } finally {
      await worker.kill();
    }
    await recordFigures(
      "missing-container",
      "container dropped under an indexed source",
      `missing container: ${DOCS} indexed documents, container dropped, a reconcile and a sync pass: ${DOCS} still indexed, ${report.deleted} deleted, 0 attempts, ${stats.deadLettered} dead letters`,
      {
        "documents indexed before": DOCS,
        "still indexed": DOCS,
        deleted: report.deleted,
        "attempts spent": report.retried + report.deadLettered,
        "dead letters": stats.deadLettered,
      },
    );
  }, 120_000);
});

/**
 * Documents deleted in Cosmos without the index hearing of it (latest-version capture does not
 * carry deletes) are what reconcile is for; half the index at once is what a wrong container or a
 * bad restore looks like. Past RECONCILE_MAX_DELETE_SHARE the reconcile stops before queueing the
 * page that crosses it, and says so.
 */
describe("fault: reconcile finds most of the index missing from Cosmos", () => {
  const PAGE = 5;

  it("stops before deleting more than the configured share, and deletes them all once the share allows it", async () => {
    const source = await createTestSource({
      env: { RECONCILE_BATCH_SIZE: String(PAGE), RECONCILE_MAX_DELETE_SHARE: "0.25" },
    });
    let services = createServices(source.config, silentLogger);
    try {
      await services.ensureIndexes();
      const docs = Array.from({ length: DOCS }, (_, n) => ({ id: `d${n}`, tenant: "t", n }));
      for (const doc of docs) await source.container.items.create(doc);
      await services.sources.get(source.name)!.queue.enqueue(
        docs.map((doc) => ({ id: doc.id, pk: doc.tenant })),
        { lane: "live", now: Date.now() },
      );
      await runSyncPass(services, { budgetMs: 30_000, untilIdle: true });
      expect((await source.indexed()).size).toBe(DOCS);
      // Half the container gone behind the index's back.
      for (const doc of docs.slice(0, DOCS / 2)) await source.container.item(doc.id, doc.tenant).delete();

      const stopped = await runJobToEnd(services, "reconcile", source.name);
      console.log(
        `[fault reconcile-guard] ${JSON.stringify({ state: stopped.state, missing: stopped.missing, enqueued: stopped.enqueued, lastError: stopped.lastError })}`,
      );
      expect(stopped.state).toBe("failed");
      expect(stopped.lastError).toMatch(
        /reconcile stopped: \d+ of the 40 indexed documents .* RECONCILE_MAX_DELETE_SHARE \(25%\)/,
      );
      // Only pages that kept the total within 25% of 40 were queued.
      expect(stopped.missing).toBeLessThanOrEqual(10);
      await runSyncPass(services, { budgetMs: 30_000, untilIdle: true });
      expect((await source.indexed()).size).toBeGreaterThanOrEqual(DOCS - 10);

      await services.close();
      services = createServices(loadConfig({ ...source.env, RECONCILE_MAX_DELETE_SHARE: "1" }), silentLogger);
      const allowed = await runJobToEnd(services, "reconcile", source.name);
      expect(allowed.state).toBe("succeeded");
      await runSyncPass(services, { budgetMs: 30_000, untilIdle: true });
      expect((await source.indexed()).size).toBe(DOCS / 2);
      await recordFigures(
        "missing-container",
        "reconcile finding half the index missing",
        `reconcile guard: half of ${DOCS} documents deleted behind the index's back; the reconcile stopped with ${stopped.missing} deletes queued; with the share at 1 it removed all ${DOCS / 2}`,
        {
          "documents indexed": DOCS,
          "deleted behind the index's back": DOCS / 2,
          "deletes queued before the stop": stopped.missing,
          "state at the stop": stopped.state,
          "left after the share was raised": DOCS / 2,
        },
      );
    } finally {
      await services.close();
      await source.dispose();
    }
  }, 120_000);
});
