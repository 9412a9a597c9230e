import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { recordFigures } from "./support/figures.js";

const PAGE = 5;
const DOCS = 3 * PAGE;
/** The index's gc_deletes, short so that the test waits it out. */
const GC_DELETES_MS = 1000;

/**
 * A reimport page read before a delete and written after Elasticsearch forgot the delete
 * (`index.gc_deletes`) used to bring the deleted document back: a ghost that only a reconcile
 * removed. Here the page is read ahead, the job pauses between chunks (as a Functions timer does),
 * a document of that page is deleted and the delete synced, and the job resumes after the window.
 */
describe("fault: a reimport page older than the index remembers deletes", () => {
  let source: TestSource;
  let services: Services;

  beforeAll(async () => {
    source = await createTestSource({
      extra: { settings: { "index.gc_deletes": `${GC_DELETES_MS}ms` } },
      env: { REIMPORT_PAGE_SIZE: String(PAGE) },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  it("reads the page again instead of writing what it read before the delete", async () => {
    const docs = Array.from({ length: DOCS }, (_, n) => ({
      id: `d${String(n).padStart(2, "0")}`,
      tenant: "t",
      title: `doc ${n}`,
      n,
    }));
    for (const doc of docs) await source.container.items.create(doc);
    const job = await services.jobs.start("reimport", source.name);

    // One page per chunk: the first is written, the second is read ahead and kept.
    await services.jobs.runChunk(job.id, 30_000, { maxPages: 1 });
    expect(await services.jobs.get(job.id)).toMatchObject({ pages: 1, scanned: PAGE });
    // Every document not written by the first page is in a later page; delete one of them.
    const indexed = await source.indexed();
    const victim = docs.find((doc) => !indexed.has(doc.id))!;
    await source.container.item(victim.id, victim.tenant).delete();
    await services.sources
      .get(source.name)!
      .queue.enqueue([{ id: victim.id, pk: victim.tenant }], { lane: "live", now: Date.now() });
    await runSyncPass(services, { budgetMs: 10_000, untilIdle: true });
    // Past the window, and refreshed, so Elasticsearch has pruned the delete's tombstone.
    await new Promise((resolve) => setTimeout(resolve, 3 * GC_DELETES_MS));
    await source.elastic.indices.refresh({ index: source.config.sources[0]!.index });

    for (let chunk = 0; chunk < 5; chunk++) {
      const current = await services.jobs.get(job.id);
      if (current?.state === "succeeded") break;
      await services.jobs.runChunk(job.id, 30_000, { maxPages: 1 });
    }
    expect(await services.jobs.get(job.id)).toMatchObject({ state: "succeeded", scanned: DOCS - 1 });
    const after = await source.indexed();
    console.log(
      `[fault reimport-ghost] ${after.size} indexed of ${DOCS - 1} in Cosmos; the deleted ${victim.id} ${after.has(victim.id) ? "came back" : "stayed deleted"}`,
    );
    expect(after.has(victim.id)).toBe(false);
    expect(after.size).toBe(DOCS - 1);
    await recordFigures(
      "reimport-ghost",
      "a page read before a delete, written after the window",
      `reimport ghost: ${after.size} indexed of ${DOCS - 1} in Cosmos; the deleted document stayed deleted`,
      {
        "documents in Cosmos": DOCS - 1,
        indexed: after.size,
        "deleted document came back": after.has(victim.id),
      },
    );
  }, 120_000);
});
