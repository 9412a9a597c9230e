import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { encodeKey } from "../../shared/core/keys.js";
import { MAPPINGS } from "../../shared/elastic/sync-events.js";
import type { SyncHistory } from "../../shared/history/sync-history.js";
import { createServiceHistory } from "../../shared/runtime/telemetry.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createMetrics } from "../../shared/telemetry/metrics.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

/*
 * Pins what the sync history answers for a known sequence of syncs, whatever shape its events
 * take in Elasticsearch: the same answers before and after the history was made cheaper (issue 25).
 * Part one drives the real worker over HTTP; part two records batches at chosen times through
 * the same history the worker uses, against the real Elasticsearch, with a fixed clock.
 */

const API_KEY = "history-answers-key-0123456789";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WINDOWS = ["5m", "1h", "1d", "2d", "3d"] as const;
const all = (n: number) => Object.fromEntries(WINDOWS.map((key) => [key, n]));

const get = (url: string, key: string | null = API_KEY) =>
  fetch(url, { headers: key ? { "x-functions-key": key } : {} });

describe("sync history answers through the worker's HTTP API", () => {
  let source: TestSource;
  let worker: WorkerHandle;
  // "twin" lives in two partitions: one Cosmos id, two keys, two changes per sync.
  const docs = [
    ...Array.from({ length: 30 }, (_, i) => ({ id: `h${i}`, tenant: `t${i % 3}` })),
    { id: "twin", tenant: "t0" },
    { id: "twin", tenant: "t1" },
  ];
  const GONE = ["h0", "h1", "h2"]; // deleted in Cosmos before the first sync: synced as deletes

  const enqueue = async (items: readonly { id: string; tenant: string }[]) => {
    const response = await fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": API_KEY },
      body: JSON.stringify({ items: items.map(({ id, tenant }) => ({ id, pk: tenant })) }),
    });
    expect(response.status).toBe(202);
  };
  const settled = async (changes: number) => {
    // Every change's batch has been recorded and its events flushed to the stream.
    await eventually(async () => {
      const { written } = worker.services.history!.totals;
      expect(written).toBe(changes);
    });
    await worker.services.history!.flush();
  };

  beforeAll(async () => {
    source = await createTestSource();
    worker = await startWorker(
      loadConfig({
        ...source.env,
        WORKER_PORT: "0",
        DRIFTLESS_API_KEY: API_KEY,
        SYNC_BATCH_SIZE: "7",
        CAPTURE_ENABLED: "false",
      }),
      { logger: silentLogger },
    );
    for (let i = 0; i < docs.length; i += 16)
      await Promise.all(docs.slice(i, i + 16).map(({ id, tenant }) => source.container.items.create({ id, tenant })));
    await Promise.all(GONE.map((id, i) => source.container.item(id, `t${i % 3}`).delete()));
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  it("counts two syncs per source, per action, per document and per minute", async () => {
    await enqueue(docs);
    await settled(docs.length);
    // The second sync: ten documents again (one of them deleted), and both twins.
    await enqueue([...docs.slice(0, 10), ...docs.slice(-2)]);
    await settled(docs.length + 12);
    const total = docs.length + 12;
    const deletes = GONE.length * 2;

    const stats = await eventually(async () => {
      const response = await get(`${worker.url}/sources/${source.name}/stats`, null);
      const body = (await response.json()) as { windows: Record<string, number> };
      expect(body.windows["5m"]).toBe(total);
      return body;
    });
    expect(stats).toEqual({
      source: source.name,
      windows: all(total),
      byAction: { index: all(total - deletes), delete: all(deletes) },
    });

    const doc = async (id: string) =>
      (await (await get(`${worker.url}/sources/${source.name}/documents/${id}/stats`)).json()) as unknown;
    // An id's answer: its changes in every window, split by action.
    const changes = (id: string, index: number, deleted: number) => ({
      source: source.name,
      id,
      windows: all(index + deleted),
      byAction: { index: all(index), delete: all(deleted) },
    });
    expect(await doc("twin")).toEqual(changes("twin", 4, 0));
    expect(await doc("h0")).toEqual(changes("h0", 0, 2));
    expect(await doc("h5")).toEqual(changes("h5", 2, 0));
    expect(await doc("h20")).toEqual(changes("h20", 1, 0));
    expect(((await doc("never")) as { windows: unknown }).windows).toEqual(all(0));

    const history = (await (await get(`${worker.url}/sources/${source.name}/history?minutes=30`, null)).json()) as {
      minutes: number;
      bucketMs: number;
      buckets: { at: number; synced: number }[];
    };
    expect(history).toMatchObject({ source: source.name, minutes: 30, bucketMs: MINUTE });
    expect(history.buckets.reduce((sum, bucket) => sum + bucket.synced, 0)).toBe(total);
    expect(history.buckets.slice(0, -2).every((bucket) => bucket.synced === 0)).toBe(true);
  });
});

describe("sync history answers for batches recorded at known times (real Elasticsearch, fixed clock)", () => {
  let source: TestSource;
  let history: SyncHistory;
  const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
  const name = `pinned-${Math.random().toString(36).slice(2, 8)}`;

  const op = (id: string, pk: string, action: "index" | "delete"): SinkOp =>
    action === "index"
      ? { action, id, member: encodeKey({ id, pk: [pk] }), version: 1, document: {} }
      : { action, id, member: encodeKey({ id, pk: [pk] }), version: 1 };
  const batch = (prefix: string, n: number, action: "index" | "delete") =>
    Array.from({ length: n }, (_, i) => op(`${prefix}${i}`, "p", action));

  beforeAll(async () => {
    source = await createTestSource();
    const config = loadConfig({ ...source.env });
    history = createServiceHistory(
      config,
      source.elastic,
      createMetrics({ readers: [] }),
      { now: () => NOW },
      silentLogger,
    )!;
    // Ages well inside their windows. "x" is synced in every batch; "y" in two partitions at once.
    history.record(
      name,
      [...batch("a", 5, "index"), op("x", "p", "index"), op("y", "p1", "index"), op("y", "p2", "delete")],
      NOW - 2 * MINUTE,
    );
    history.record(name, [...batch("b", 3, "delete"), op("x", "p", "delete")], NOW - 3 * MINUTE);
    history.record(
      name,
      [...batch("c", 7, "index"), op("x", "p", "index"), op("y", "p1", "index"), op("y", "p2", "index")],
      NOW - 20 * MINUTE,
    );
    history.record(name, [...batch("d", 4, "index"), op("x", "p", "index")], NOW - 5 * HOUR);
    history.record(name, [...batch("e", 2, "delete"), op("x", "p", "delete")], NOW - 36 * HOUR);
    history.record(name, [...batch("f", 6, "index"), op("x", "p", "index")], NOW - 60 * HOUR);
    history.record(name, [op("x", "p", "index")], NOW - 100 * HOUR); // older than every window
    await history.flush();
    expect(history.totals).toEqual({ written: 38, failed: 0, dropped: 0 });
    await source.elastic.indices.refresh({ index: config.telemetry.syncEvents!.stream });
  });

  afterAll(async () => {
    await source?.dispose();
  });

  it("counts per window and per action, for the source and for one document", async () => {
    expect(await history.counts(name)).toEqual({
      total: { "5m": 12, "1h": 22, "1d": 27, "2d": 30, "3d": 37 },
      byAction: {
        index: { "5m": 7, "1h": 17, "1d": 22, "2d": 22, "3d": 29 },
        delete: { "5m": 5, "1h": 5, "1d": 5, "2d": 8, "3d": 8 },
      },
    });
    expect(await history.counts(name, "x")).toEqual({
      total: { "5m": 2, "1h": 3, "1d": 4, "2d": 5, "3d": 6 },
      byAction: {
        index: { "5m": 1, "1h": 2, "1d": 3, "2d": 3, "3d": 4 },
        delete: { "5m": 1, "1h": 1, "1d": 1, "2d": 2, "3d": 2 },
      },
    });
    expect(await history.counts(name, "y")).toEqual({
      total: { ...all(4), "5m": 2 },
      byAction: { index: { ...all(3), "5m": 1 }, delete: all(1) },
    });
    expect(await history.counts(name, "c3")).toEqual({
      total: { "5m": 0, "1h": 1, "1d": 1, "2d": 1, "3d": 1 },
      byAction: { index: { "5m": 0, "1h": 1, "1d": 1, "2d": 1, "3d": 1 }, delete: all(0) },
    });
  });

  it("gives the changes per bucket, oldest first", async () => {
    // 30 minutes: one-minute buckets; the batches of 2, 3 and 20 minutes ago in theirs.
    const buckets = await history.timeline(name, 30);
    expect(buckets.length).toBe(31);
    const synced = new Map(buckets.map((bucket) => [(NOW - bucket.at) / MINUTE, bucket.synced]));
    expect(synced.get(2)).toBe(8);
    expect(synced.get(3)).toBe(4);
    expect(synced.get(20)).toBe(10);
    expect(buckets.reduce((sum, bucket) => sum + bucket.synced, 0)).toBe(22);
    // 6 hours: 12-minute buckets, 5 hours ago is one of them.
    const longer = await history.timeline(name, 360);
    expect(longer[1]!.at - longer[0]!.at).toBe(12 * MINUTE);
    expect(longer.reduce((sum, bucket) => sum + bucket.synced, 0)).toBe(27);
    expect(longer.find((bucket) => bucket.at === NOW - 5 * HOUR)?.synced).toBe(5);
  });
});

describe("a sync events stream created before the count and id documents", () => {
  let source: TestSource;
  const stream = `driftless-old-events-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    source = await createTestSource();
  });

  afterAll(async () => {
    await source.elastic.indices.deleteDataStream({ name: stream }).catch(() => {});
    await source.elastic.indices.deleteIndexTemplate({ name: stream }).catch(() => {});
    await source?.dispose();
  });

  it("gets the new field on its backing index, so its counts stay right", async () => {
    // The template as it was (no `kind`), and one event per change already in the stream.
    const { kind: _kind, ...oldProperties } = MAPPINGS.properties;
    await source.elastic.indices.putIndexTemplate({
      name: stream,
      index_patterns: [stream],
      data_stream: {},
      priority: 500,
      template: { mappings: { dynamic: false, properties: oldProperties } },
    });
    const now = Date.now();
    const old = await source.elastic.bulk({
      index: stream,
      refresh: true,
      operations: [
        { create: {} },
        {
          "@timestamp": new Date(now - 10 * MINUTE).toISOString(),
          source: "old",
          id: "k1",
          pk: '"p"',
          doc_id: "k1",
          action: "index",
          version: 1,
        },
      ],
    });
    expect(old.errors).toBe(false);

    const config = loadConfig({ ...source.env, SYNC_EVENTS_STREAM: stream });
    const history = createServiceHistory(
      config,
      source.elastic,
      createMetrics({ readers: [] }),
      { now: () => now },
      silentLogger,
    )!;
    const ops: SinkOp[] = ["k1", "k2", "k3"].map((id) => ({
      action: "index",
      id,
      member: encodeKey({ id, pk: ["p"] }),
      version: 2,
      document: {},
    }));
    history.record("old", ops, now - MINUTE);
    await history.flush();
    expect(history.totals).toEqual({ written: 3, failed: 0, dropped: 0 });
    await source.elastic.indices.refresh({ index: stream });

    expect((await history.counts("old")).total).toEqual({ "5m": 3, "1h": 4, "1d": 4, "2d": 4, "3d": 4 });
    expect((await history.counts("old", "k1")).total).toEqual({ "5m": 1, "1h": 2, "1d": 2, "2d": 2, "3d": 2 });
    expect((await history.timeline("old", 30)).reduce((sum, bucket) => sum + bucket.synced, 0)).toBe(4);
  });
});
