import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { syncBatch } from "../../shared/sync/engine.js";
import type { SyncDeps } from "../../shared/sync/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

/**
 * With `documentId: "id"` the _id is the Cosmos id alone, so a document moved to another partition
 * (deleted under one partition key, created under another with the same id) gives two queue keys,
 * processed independently, that write one _id. The delete of the old key must not remove, or
 * keep out, the document the new key writes. Real emulator, Elasticsearch and Redis.
 */
describe("two keys with one _id (a document moved between partitions)", () => {
  let source: TestSource;
  let services: Services;
  let sync: SyncDeps;

  beforeAll(async () => {
    source = await createTestSource({ partitionKeyPath: "/tenant" });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    sync = services.sources.get(source.name)!.sync;
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  /** Enqueues the keys and syncs until the queue is empty. */
  async function syncKeys(...keys: DocKey[]): Promise<void> {
    await sync.queue.enqueue(keys, { lane: "live", now: Date.now() });
    for (let i = 0; i < 10; i++) {
      const report = await syncBatch(sync);
      if (report.claimed === 0) return;
    }
  }

  /** Indexes `id` under tenant t1, then moves it to t2 in Cosmos; returns both keys. */
  async function moved(id: string): Promise<{ from: DocKey; to: DocKey }> {
    const from = { id, pk: "t1" };
    const to = { id, pk: "t2" };
    await source.container.items.create({ id, tenant: "t1", title: "before the move", n: 1 });
    await syncKeys(from);
    expect((await source.indexed()).get(id)?.source).toMatchObject({ tenant: "t1" });
    await source.container.item(id, "t1").delete();
    await source.container.items.create({ id, tenant: "t2", title: "after the move", n: 2 });
    return { from, to };
  }

  const entry = async (id: string) => (await source.indexed()).get(id);

  it("the new key written first: the old key's delete leaves the moved document", async () => {
    const { from, to } = await moved("moved-new-first");
    await syncKeys(to);
    expect((await entry("moved-new-first"))?.source).toMatchObject({ tenant: "t2", driftless: { key: encodeKey(to) } });

    await syncKeys(from);
    expect((await entry("moved-new-first"))?.source).toMatchObject({ tenant: "t2", driftless: { key: encodeKey(to) } });
  });

  it("the old key's delete first, a second or more later: the new key's write still lands", async () => {
    const { from, to } = await moved("moved-delete-first");
    // The delete is read at least a second after the move: its version (the read time) is then
    // above the moved document's _ts.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await syncKeys(from);
    await syncKeys(to);
    expect((await entry("moved-delete-first"))?.source).toMatchObject({
      tenant: "t2",
      driftless: { key: encodeKey(to) },
    });
  });

  it("the old key's delete processed again once its entry is gone: its tombstone does not keep the moved document out", async () => {
    const { from, to } = await moved("moved-twice");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await syncKeys(from);
    await syncKeys(from); // a duplicate change-feed event, a reconcile: no entry now, a tombstone at the read time
    await syncKeys(to);
    expect((await entry("moved-twice"))?.source).toMatchObject({ tenant: "t2", driftless: { key: encodeKey(to) } });
    // The next change of the moved document replaces it as usual.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await source.container.items.upsert({ id: "moved-twice", tenant: "t2", title: "changed", n: 3 });
    await syncKeys(to);
    expect((await entry("moved-twice"))?.source).toMatchObject({ title: "changed" });
  });

  it("a delete with no move still removes the key's own entry, also with an operator's index beside it on the alias", async () => {
    const alias = source.config.sources[0]!.index;
    await source.container.items.create({ id: "plain", tenant: "t1", title: "plain", n: 1 });
    await syncKeys({ id: "plain", pk: "t1" });
    expect(await entry("plain")).toBeDefined();
    await source.container.item("plain", "t1").delete();
    await syncKeys({ id: "plain", pk: "t1" });
    expect(await entry("plain")).toBeUndefined();

    // A get through an alias with two indices is refused: the entry is read from the write index.
    const archive = `${alias}-archive`;
    await source.elastic.indices.create({ index: archive, aliases: { [alias]: { is_write_index: false } } });
    try {
      await source.container.items.create({ id: "plain-2", tenant: "t1", title: "plain", n: 1 });
      await syncKeys({ id: "plain-2", pk: "t1" });
      expect(await entry("plain-2")).toBeDefined();
      await source.container.item("plain-2", "t1").delete();
      await syncKeys({ id: "plain-2", pk: "t1" });
      expect(await entry("plain-2")).toBeUndefined();
      expect(await sync.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
    } finally {
      await source.elastic.indices.delete({ index: archive });
    }
  });

  it("both keys in one batch: the moved document ends indexed", async () => {
    const { from, to } = await moved("moved-together");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await syncKeys(from, to);
    expect((await entry("moved-together"))?.source).toMatchObject({ tenant: "t2", driftless: { key: encodeKey(to) } });
  });
});
