import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBulkSink, createElasticClient } from "../../shared/elastic/index.js";
import type { Sink, SinkOp } from "../../shared/sync/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { drain } from "../../shared/sync/drain.js";
import { syncBatch } from "../../shared/sync/engine.js";
import type { SyncDeps } from "../../shared/sync/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

/**
 * Wraps the real Elasticsearch sink and records, per document id, how many writes are in flight
 * at once. Per-key exclusivity means that number never exceeds 1, however many batches and
 * workers run.
 */
function recordingSink(
  inner: Sink,
  { delayMs = 0, hold }: { delayMs?: number; hold?: (op: SinkOp) => Promise<void> | undefined } = {},
) {
  const inFlight = new Map<string, number>();
  const writes = new Map<string, number>();
  const overlaps: string[] = [];
  const sink: Sink = {
    async write(alias, ops) {
      for (const op of ops) {
        const now = (inFlight.get(op.id) ?? 0) + 1;
        inFlight.set(op.id, now);
        writes.set(op.id, (writes.get(op.id) ?? 0) + 1);
        if (now > 1) overlaps.push(op.id);
      }
      try {
        await Promise.all(ops.map((op) => hold?.(op)));
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, Math.random() * delayMs));
        return await inner.write(alias, ops);
      } finally {
        for (const op of ops) inFlight.set(op.id, inFlight.get(op.id)! - 1);
      }
    },
  };
  return { sink, writes, overlaps };
}

describe("engine: per-key exclusivity and ordering", () => {
  let source: TestSource;
  let services: Services;
  let base: SyncDeps;

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_BATCH_SIZE: "8" } });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    base = services.sources.get(source.name)!.sync;
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  const realSink = () => createBulkSink(services.clients.elastic);

  it("a key re-enqueued while its write is in flight is written again after the ack, never alongside it", async () => {
    const key = { id: "held", pk: "t1" };
    await source.container.items.upsert({ id: key.id, tenant: key.pk, title: "first", n: 1 });
    await base.queue.enqueue([key], { lane: "live", now: Date.now() });

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const writeStarted = new Promise<void>((resolve) => (reached = resolve));
    let holdFirst = true;
    const recorder = recordingSink(realSink(), {
      hold: (op) => {
        if (op.id !== key.id || !holdFirst) return undefined;
        holdFirst = false;
        reached();
        return released;
      },
    });
    const worker = { ...base, sink: recorder.sink };

    const first = syncBatch(worker);
    await writeStarted;
    // The document changes while the first write is held, and its key arrives again.
    await source.container.items.upsert({ id: key.id, tenant: key.pk, title: "second", n: 2 });
    expect(await base.queue.enqueue([key], { lane: "live", now: Date.now() })).toEqual({
      enqueued: 1,
      duplicates: 0,
      isDuplicate: [false],
    });
    expect(await base.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 1, dirty: 1 });

    // A second worker finds nothing to claim: the key is not pending while it is in flight.
    expect((await syncBatch({ ...base, sink: recorder.sink })).claimed).toBe(0);

    release();
    expect(await first).toMatchObject({ claimed: 1, indexed: 1 });
    // The ack put the dirty key back: pending again, attempts untouched.
    expect(await base.queue.stats(Date.now())).toMatchObject({ pending: 1, inflight: 0, dirty: 0 });
    expect(await syncBatch(worker)).toMatchObject({ claimed: 1, indexed: 1 });

    expect(recorder.writes.get(key.id)).toBe(2);
    expect(recorder.overlaps).toEqual([]);
    expect((await source.indexed()).get(key.id)?.source).toMatchObject({ title: "second", n: 2 });
    expect(await differences(source)).toEqual([]);
  });

  it("a bulk request held up past the lease is not sent once another worker claimed its keys; the newer body stays", async () => {
    const keys = [
      { id: "late-a", pk: "t1" },
      { id: "late-b", pk: "t1" },
    ];
    await Promise.all(
      keys.map((key) => source.container.items.upsert({ id: key.id, tenant: key.pk, title: "old", n: 1 })),
    );
    await base.queue.enqueue(keys, { lane: "live", now: Date.now() });

    // Worker 1 has a client of its own, so every bulk request it sends is seen here.
    const client = createElasticClient({ node: services.config.elasticsearch.node });
    const sentBulks: string[] = [];
    client.diagnostic.on("request", (_error, result) => {
      const path = result?.meta.request.params.path ?? "";
      if (path.endsWith("/_bulk")) sentBulks.push(path);
    });
    let reached!: () => void;
    const writeReached = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const inner = createBulkSink(client);
    // A test double of timing only: the first write waits (a GC pause, a slow network, the
    // client's resend), then goes on to the real sink.
    let holdNext = true;
    const slow: Sink = {
      async write(alias, ops, guard) {
        if (holdNext) {
          holdNext = false;
          reached();
          await released;
        }
        return inner.write(alias, ops, guard);
      },
    };
    const leaseMs = 1500;
    // One document per chunk; the request timeout leaves the whole lease for the write at claim time.
    const worker1: SyncDeps = {
      ...base,
      sink: slow,
      options: { ...base.options, leaseMs, writeTimeoutMs: 200, batchMaxBytes: 1 },
    };

    const startedAt = Date.now();
    const first = syncBatch(worker1);
    await writeReached;
    // The document changes (most likely within the same second of _ts as worker 1's read).
    await source.container.items.upsert({ id: "late-b", tenant: "t1", title: "new", n: 2 });
    // The lease expires, the reaper returns the keys, worker 2 claims and writes them.
    await new Promise((resolve) => setTimeout(resolve, startedAt + leaseMs + 200 - Date.now()));
    expect(await base.queue.reap(Date.now())).toEqual({ requeued: 2, deadLettered: 0 });
    expect(await syncBatch(base)).toMatchObject({ claimed: 2, indexed: 2 });

    release();
    // Worker 1 sends nothing: both chunks found their leases gone before their request.
    expect(await first).toMatchObject({ claimed: 2, indexed: 0, stale: 2 });
    expect(sentBulks).toEqual([]);
    expect((await source.indexed()).get("late-b")?.source).toMatchObject({ title: "new", n: 2 });
    await client.close();
  });

  it("while a later chunk waits for its request, the leases of the chunks already written are kept until the settle", async () => {
    const keys = [
      { id: "kept-a", pk: "t1" },
      { id: "kept-b", pk: "t1" },
    ];
    await Promise.all(
      keys.map((key) => source.container.items.upsert({ id: key.id, tenant: key.pk, title: "kept", n: 1 })),
    );
    await base.queue.enqueue(keys, { lane: "live", now: Date.now() });
    const inner = realSink();
    const leaseMs = 1500;
    const startedAt = Date.now();
    let reaped: { requeued: number; deadLettered: number } | undefined;
    // The second chunk is slow to leave (after its lease check); meanwhile the first chunk's
    // lease would run out, and another worker's reaper runs.
    const slowSecond: Sink = {
      async write(alias, ops, guard) {
        if (ops[0]?.id !== "kept-b") return inner.write(alias, ops, guard);
        await new Promise((resolve) => setTimeout(resolve, startedAt + 1200 - Date.now()));
        return inner.write(alias, ops, {
          async beforeRequest() {
            await guard?.beforeRequest();
            await new Promise((resolve) => setTimeout(resolve, startedAt + leaseMs + 300 - Date.now()));
            reaped = await base.queue.reap(Date.now());
          },
        });
      },
    };
    const worker: SyncDeps = {
      ...base,
      sink: slowSecond,
      options: { ...base.options, leaseMs, writeTimeoutMs: 200, batchMaxBytes: 1 },
    };
    expect(await syncBatch(worker)).toMatchObject({ claimed: 2, indexed: 2, stale: 0 });
    expect(reaped).toEqual({ requeued: 0, deadLettered: 0 });
    expect(await base.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0 });
  });

  it("under a stream of rapid updates and two workers with two loops each, no id is ever written twice at once", async () => {
    const keys = Array.from({ length: 24 }, (_, i) => ({ id: `race-${i}`, pk: `t${i % 3}` }));
    await Promise.all(
      keys.map((key, n) => source.container.items.upsert({ id: key.id, tenant: key.pk, title: "v0", n })),
    );
    const recorder = recordingSink(realSink(), { delayMs: 15 });
    const stop = new AbortController();
    const workers = [0, 1].map(() =>
      drain(
        { ...base, sink: recorder.sink },
        { budgetMs: 120_000, concurrency: 2, idlePollMs: 20, signal: stop.signal },
      ),
    );

    let updates = 0;
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      const batch = keys.filter(() => Math.random() < 0.4);
      await Promise.all(
        batch.map((key) =>
          source.container.items.upsert({ id: key.id, tenant: key.pk, title: `v${++updates}`, n: updates }),
        ),
      );
      await base.queue.enqueue(batch, { lane: "live", now: Date.now() });
    }
    await eventually(
      async () => expect(await base.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, dirty: 0 }),
      { timeoutMs: 60_000 },
    );
    stop.abort();
    const reports = await Promise.all(workers);

    console.log(
      `[exclusivity] ${updates} updates of ${keys.length} documents, ${[...recorder.writes.values()].reduce((a, b) => a + b, 0)} writes ` +
        `by 2 workers x 2 loops, overlapping writes of one id: ${recorder.overlaps.length}`,
    );
    expect(recorder.overlaps).toEqual([]);
    expect(reports.reduce((n, r) => n + r.deadLettered + r.retried, 0)).toBe(0);
    // Every key was processed after its last change: the index holds Cosmos's last version of each.
    expect(await differences(source)).toEqual([]);
    expect(keys.every((key) => (recorder.writes.get(key.id) ?? 0) >= 1)).toBe(true);
  }, 120_000);
});
