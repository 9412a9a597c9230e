import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminal } from "../../shared/jobs/store.js";
import { runJobLoop } from "../../shared/jobs/loop.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

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

    const stop = new AbortController();
    const jobLoop = runJobLoop(services.jobs, { pollMs: 50, logger: silentLogger, signal: stop.signal });
    let job: Job | undefined;
    try {
      job = await services.jobs.start("reconcile", source.name);
      const deadline = Date.now() + 60_000;
      while (job && !isTerminal(job.state) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        job = await services.jobs.get(job.id);
      }
    } finally {
      stop.abort();
      await jobLoop;
    }
    // Nothing the reconcile read said "deleted": every key is unsure and goes back to the sync.
    expect(job).toMatchObject({ state: "succeeded", scanned: DOCS, missing: 0 });

    // The changes captured before the drop (and the reconcile's keys) reach the sync.
    await queue.enqueue(keys, { lane: "live", now: Date.now() });
    const reports = await runSyncPass(services, { budgetMs: 3_000 });
    const report = reports[source.name]!;
    console.log(`[fault missing-container] sync pass: ${JSON.stringify({ deleted: report.deleted, deadLettered: report.deadLettered, retried: report.retried })}`);
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
    expect(health.cosmos).toMatchObject({ ok: false, error: expect.stringContaining(`container not found: driftless-test/${source.name}`) });
    expect(services.circuitStates!().cosmos).not.toBe("closed");
  }, 120_000);
});
