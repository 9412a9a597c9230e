import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKey } from "../../shared/core/keys.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

/**
 * Reconcile against index entries driftless did not write the way it writes them, on the real
 * emulator, Elasticsearch and Redis.
 */
describe("reconcile with entries whose key does not name them", () => {
  let source: TestSource;
  let services: Services;
  let alias: string;

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger);
    alias = source.config.sources[0]!.index;
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  const sync = () => runSyncPass(services, { budgetMs: 30_000, untilIdle: true });
  const queue = () => services.sources.get(source.name)!.sync.queue;

  it("skips and counts an entry whose driftless.key decodes to a key of another _id, and never enqueues that key", async () => {
    await source.container.items.create({ id: "victim", tenant: "t1", title: "real", n: 1 });
    await queue().enqueue([{ id: "victim", pk: "t1" }], { lane: "live", now: Date.now() });
    await sync();
    expect((await source.indexed()).get("victim")?.source).toMatchObject({ title: "real" });

    // Entries written past driftless (by hand, by an older version, or a copy): the first names
    // a key Cosmos does not have whose _id is the victim's, so acting on it would delete the
    // victim; the second has no key at all.
    const forged = encodeKey({ id: "victim", pk: "t-nowhere" });
    await source.elastic.index({
      index: alias,
      id: "forged",
      document: { driftless: { key: forged, ts: 1 }, title: "forged" },
    });
    await source.elastic.index({ index: alias, id: "keyless", document: { title: "keyless" }, refresh: true });

    const job = await runToEnd(services, (await services.jobs.start("reconcile", source.name)).id);
    expect(job).toMatchObject({ state: "succeeded", scanned: 3, missing: 0, enqueued: 0, errors: 2 });
    expect((await queue().stats(Date.now())).pending).toBe(0);

    await sync();
    expect((await source.indexed()).get("victim")?.source).toMatchObject({ title: "real" });
  }, 120_000);
});

async function runToEnd(services: Services, jobId: string): Promise<Job> {
  return eventually(
    async () => {
      const { job } = await services.jobs.runChunk(jobId, 30_000);
      if (!job || !isTerminal(job.state)) throw new Error(`job ${jobId} is ${job?.state}`);
      return job;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}
