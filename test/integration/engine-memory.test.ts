import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import type { Sink, SourceReader } from "../../shared/sync/ports.js";
import { createBulkSink } from "../../shared/elastic/bulk-sink.js";
import type { SearchClient } from "../../shared/elastic/search-client.js";
import { syncBatch } from "../../shared/sync/engine.js";
import type { SyncDeps } from "../../shared/sync/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { collectGarbage } from "../setup/collect-garbage.js";

/**
 * A batch waits for its bulk requests for most of its life, with other batches in flight beside
 * it; the documents it read must not be kept alive meanwhile, only their JSON text. As objects
 * they hold about three times their JSON's size, and the young generation's collector copies
 * every live object of every in-flight batch at each collection.
 */
describe("engine: a batch in flight does not keep its documents", () => {
  let source: TestSource;
  let services: Services;
  let base: SyncDeps;

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    base = services.sources.get(source.name)!.sync;
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  it("while the bulk request is held, the documents read for it can be collected; what is written is unchanged", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => ({ id: `kept-${i}`, pk: `t${i % 3}` }));
    await Promise.all(
      keys.map((key, i) =>
        source.container.items.upsert({ id: key.id, tenant: key.pk, title: `doc ${i}`, n: i, detail: { tags: ["a"] } }),
      ),
    );
    await base.queue.enqueue(keys, { lane: "live", now: Date.now() });

    // Weak references to an object inside each document read: the mapper's copy shares it.
    const read: WeakRef<object>[] = [];
    const reader: SourceReader = {
      read: (wanted, prepare) =>
        base.reader.read(wanted, (document, member) => {
          read.push(new WeakRef(document.detail as object));
          if (!prepare) throw new Error("the sync reads with prepare");
          return prepare(document, member);
        }),
    };
    let reached!: () => void;
    const writing = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: Sink = {
      async write(alias, ops, guard) {
        reached();
        await released;
        return base.sink.write(alias, ops, guard);
      },
    };

    const batch = syncBatch({ ...base, reader, sink: held });
    await writing;
    await collectGarbage();
    const alive = read.filter((ref) => ref.deref() !== undefined).length;
    release();

    expect(read).toHaveLength(keys.length);
    expect(alive).toBe(0);
    expect(await batch).toMatchObject({ claimed: keys.length, indexed: keys.length });
    expect((await source.indexed()).get("kept-7")?.source).toMatchObject({
      title: "doc 7",
      n: 7,
      detail: { tags: ["a"] },
    });
    expect(await differences(source)).toEqual([]);
  });

  it("while later reads of the batch are outstanding, the documents of the earlier ones can be collected", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => ({ id: `early-${i}`, pk: `t${i % 3}` }));
    await Promise.all(
      keys.map((key, i) =>
        source.container.items.upsert({ id: key.id, tenant: key.pk, title: `doc ${i}`, detail: { tags: ["b"] } }),
      ),
    );
    await base.queue.enqueue(keys, { lane: "live", now: Date.now() });

    // The batch's keys read in two requests, the second only once the first's documents are
    // checked: each a Cosmos response of its own, as the bulk reads of a large batch are.
    const early: WeakRef<object>[] = [];
    let aliveWhileReading = -1;
    const reader: SourceReader = {
      async read(wanted, prepare) {
        const keep = (document: Record<string, unknown>, member: string) => {
          early.push(new WeakRef(document.detail as object));
          return prepare ? prepare(document, member) : (document as never);
        };
        const half = Math.ceil(wanted.length / 2);
        const first = await base.reader.read(wanted.slice(0, half), keep);
        await collectGarbage();
        aliveWhileReading = early.filter((ref) => ref.deref() !== undefined).length;
        const second = await base.reader.read(wanted.slice(half), prepare);
        return [...first, ...second];
      },
    };

    const report = await syncBatch({ ...base, reader });

    expect(early).toHaveLength(keys.length / 2);
    expect(aliveWhileReading).toBe(0);
    expect(report).toMatchObject({ claimed: keys.length, indexed: keys.length });
    expect((await source.indexed()).get("early-3")?.source).toMatchObject({ title: "doc 3", detail: { tags: ["b"] } });
    expect(await differences(source)).toEqual([]);
  });

  it("while a bulk request is out, its body is held outside V8's heap", async () => {
    // Forty documents of about 100 KB: a 4 MB body, far above what the heap moves by on its own.
    const text = "x".repeat(100_000);
    const keys = Array.from({ length: 40 }, (_, i) => ({ id: `big-${i}`, pk: `t${i % 3}` }));
    for (const [i, key] of keys.entries())
      await source.container.items.upsert({ id: key.id, tenant: key.pk, title: `big ${i}`, text });
    await base.queue.enqueue(keys, { lane: "live", now: Date.now() });

    const client = services.clients.elastic;
    let sent!: () => void;
    const out = new Promise<void>((resolve) => (sent = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: SearchClient = {
      ...client,
      transport: {
        async request(params, options) {
          if (params.path.endsWith("/_bulk")) {
            sent();
            await released;
          }
          return client.transport.request(params, options);
        },
      },
    } as SearchClient;
    await collectGarbage();
    const before = process.memoryUsage();

    const batch = syncBatch({ ...base, sink: createBulkSink(held) });
    await out;
    await collectGarbage();
    const during = process.memoryUsage();
    release();

    // The batch's ops keep each document's JSON text (4 MB) on the heap until it settles; the
    // body's 4 MB are the request's bytes, not a second copy there.
    expect(during.arrayBuffers - before.arrayBuffers).toBeGreaterThan(4_000_000);
    expect(during.heapUsed - before.heapUsed).toBeLessThan(6_000_000);
    expect(await batch).toMatchObject({ claimed: keys.length, indexed: keys.length });
    expect((await source.indexed()).get("big-5")?.source).toMatchObject({ title: "big 5", text });
  });
});
