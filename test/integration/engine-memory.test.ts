import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import type { Sink, SourceReader } from "../../shared/sync/ports.js";
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
      async read(wanted) {
        const results = await base.reader.read(wanted);
        for (const result of results) {
          if ("found" in result && result.found) read.push(new WeakRef(result.document.detail as object));
        }
        return results;
      },
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
});
