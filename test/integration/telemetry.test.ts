import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { parsePrometheus, sample, total } from "../setup/prometheus.js";

const API_KEY = "telemetry-test-key-0123456789";
const HOUR = 3_600_000;

/** Creates documents in Cosmos, 16 at a time (the emulator is slow one by one). */
async function createDocs(source: TestSource, docs: readonly Record<string, unknown>[]) {
  for (let i = 0; i < docs.length; i += 16)
    await Promise.all(docs.slice(i, i + 16).map((doc) => source.container.items.create(doc)));
}

async function startTestWorker(source: TestSource, env: Record<string, string> = {}): Promise<WorkerHandle> {
  // Capture off: keys come from the HTTP producer alone, so the counts are exact.
  const config = loadConfig({
    ...source.env,
    WORKER_PORT: "0",
    DRIFTLESS_API_KEY: API_KEY,
    SYNC_BATCH_SIZE: "25",
    CAPTURE_ENABLED: "false",
    ...env,
  });
  return startWorker(config, { logger: silentLogger });
}

const get = (url: string, key: string | null = API_KEY) =>
  fetch(url, { headers: key ? { "x-functions-key": key } : {} });

describe("telemetry of an end-to-end run: metrics and the sync history", () => {
  const N = 40;
  const DELETED = 8;
  let source: TestSource;
  let worker: WorkerHandle;
  let metricsUrl: string;
  const ids = Array.from({ length: N }, (_, i) => `doc-${i}`);

  beforeAll(async () => {
    source = await createTestSource();
    worker = await startTestWorker(source);
    metricsUrl = worker.url.replace(/\/api$/, "/metrics");
    await createDocs(
      source,
      ids.map((id, i) => ({ id, tenant: `t${i % 4}`, title: `doc ${i}`, n: i })),
    );
    // Gone from Cosmos before the sync reads them: these keys become deletes.
    await Promise.all(ids.slice(0, DELETED).map((id, i) => source.container.item(id, `t${i % 4}`).delete()));

    const response = await fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": API_KEY },
      body: JSON.stringify({ items: ids.map((id, i) => ({ id, pk: `t${i % 4}` })) }),
    });
    expect(await response.json()).toEqual({ enqueued: N, duplicates: 0 });
    await eventually(async () => expect((await source.indexed()).size).toBe(N - DELETED), { timeoutMs: 60_000 });
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  it("serves counters on GET /metrics that match the work done", async () => {
    const samples = await eventually(async () => {
      const response = await fetch(metricsUrl);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const parsed = parsePrometheus(await response.text());
      // The last batch is settled (and counted) a moment after its writes are searchable.
      expect(
        total(parsed, "driftless_keys_indexed_total", { source: source.name }) +
          total(parsed, "driftless_keys_deleted_total", { source: source.name }),
      ).toBe(N);
      return parsed;
    });
    const mine = { source: source.name };
    expect(sample(samples, "driftless_keys_enqueued_total", { ...mine, lane: "live" })).toBe(N);
    expect(total(samples, "driftless_keys_duplicates_total", mine)).toBe(0);
    expect(total(samples, "driftless_keys_claimed_total", mine)).toBe(N);
    expect(total(samples, "driftless_keys_indexed_total", mine)).toBe(N - DELETED);
    expect(total(samples, "driftless_keys_deleted_total", mine)).toBe(DELETED);
    expect(total(samples, "driftless_keys_retried_total", mine)).toBe(0);
    expect(total(samples, "driftless_keys_dead_lettered_total", mine)).toBe(0);
    // Batches of 25: at least two, and each one timed.
    expect(total(samples, "driftless_batch_duration_seconds_count", mine)).toBeGreaterThanOrEqual(2);
    expect(total(samples, "driftless_batch_duration_seconds_sum", mine)).toBeGreaterThan(0);
    expect(sample(samples, "driftless_queue_pending", mine)).toBe(0);
    expect(sample(samples, "driftless_queue_dead_lettered", mine)).toBe(0);
    expect(sample(samples, "driftless_queue_oldest_pending_age_seconds", mine)).toBe(0);
    for (const dependency of ["cosmos", "elasticsearch", "redis"]) {
      expect(sample(samples, "driftless_circuit_state", { dependency }), dependency).toBe(0);
    }
    // One event per synced key reached the events data stream.
    await eventually(async () => {
      const again = parsePrometheus(await (await fetch(metricsUrl)).text());
      expect(total(again, "driftless_sync_events_written_total", mine)).toBe(N);
    });
    expect(worker.services.history?.totals).toEqual({ written: N, failed: 0, dropped: 0 });

    const wrong = await fetch(metricsUrl, { method: "POST" });
    expect(wrong.status).toBe(405);
  });

  it("counts the changes of the run in every window, per source and per action", async () => {
    const body = await eventually(async () => {
      const response = await get(`${worker.url}/sources/${source.name}/stats`, null);
      expect(response.status).toBe(200);
      const json = (await response.json()) as { windows: Record<string, number> };
      expect(json.windows["5m"]).toBe(N);
      return json;
    });
    const all = { "5m": N, "1h": N, "1d": N, "2d": N, "3d": N };
    const scaled = (n: number) => Object.fromEntries(Object.keys(all).map((key) => [key, n]));
    expect(body).toEqual({
      source: source.name,
      windows: all,
      byAction: { index: scaled(N - DELETED), delete: scaled(DELETED) },
    });

    const one = await get(`${worker.url}/sources/${source.name}/documents/${ids[DELETED + 1]}/stats`);
    expect(await one.json()).toEqual({
      source: source.name,
      id: ids[DELETED + 1],
      windows: scaled(1),
      byAction: { index: scaled(1), delete: scaled(0) },
    });
    const deleted = await get(`${worker.url}/sources/${source.name}/documents/${ids[0]}/stats`);
    expect(((await deleted.json()) as { byAction: { delete: Record<string, number> } }).byAction.delete).toEqual(
      scaled(1),
    );
    const never = await get(`${worker.url}/sources/${source.name}/documents/never-synced/stats`);
    expect(((await never.json()) as { windows: unknown }).windows).toEqual(scaled(0));
  });

  it("keeps the events in a data stream whose template carries the retention", async () => {
    const stream = worker.services.config.telemetry.syncEvents!.stream;
    const { index_templates } = await source.elastic.indices.getIndexTemplate({ name: stream });
    const template = index_templates[0]!.index_template as {
      data_stream?: object;
      template?: { lifecycle?: { data_retention?: string } };
    };
    expect(template.data_stream).toBeDefined();
    // Enforced by Elasticsearch's data stream lifecycle; the integration-test distribution here
    // accepts and keeps the setting but has no lifecycle service to apply it.
    expect(template.template?.lifecycle?.data_retention).toBe("7d");
    // Not a document per change: a count document per batch and action (its `_doc_count` the
    // changes, which every bucket aggregation adds up) and the ids beside it.
    const found = await source.elastic.search({
      index: stream,
      size: 0,
      query: { bool: { filter: [{ term: { source: source.name } }], must_not: [{ term: { kind: "ids" } }] } },
      aggs: { changes: { terms: { field: "action" } } },
    });
    const changes = found.aggregations?.changes as { buckets: { key: string; doc_count: number }[] } | undefined;
    const buckets = changes?.buckets ?? [];
    expect(Object.fromEntries(buckets.map((bucket) => [bucket.key, bucket.doc_count]))).toEqual({
      index: N - DELETED,
      delete: DELETED,
    });
    expect((found.hits.total as { value: number }).value).toBeLessThan(N / 4);
  });

  it("puts older events in the longer windows only (backdated events written straight into the stream)", async () => {
    const stream = worker.services.config.telemetry.syncEvents!.stream;
    const now = Date.now();
    // Ages chosen well inside their windows, so a slow run does not move one across a boundary.
    const ages = [10 * 60_000, 2 * HOUR, 30 * HOUR, 60 * HOUR, 80 * HOUR];
    const operations = ages.flatMap((age, i) => [
      { create: {} },
      {
        "@timestamp": new Date(now - age).toISOString(),
        source: source.name,
        id: "old-doc",
        pk: '"t0"',
        doc_id: "old-doc",
        action: i % 2 ? "delete" : "index",
        version: i,
      },
    ]);
    const result = await source.elastic.bulk({ index: stream, require_data_stream: true, refresh: true, operations });
    expect(result.errors).toBe(false);

    const doc = (await (await get(`${worker.url}/sources/${source.name}/documents/old-doc/stats`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc).toEqual({
      source: source.name,
      id: "old-doc",
      windows: { "5m": 0, "1h": 1, "1d": 2, "2d": 3, "3d": 4 },
      byAction: {
        index: { "5m": 0, "1h": 1, "1d": 1, "2d": 2, "3d": 2 },
        delete: { "5m": 0, "1h": 0, "1d": 1, "2d": 1, "3d": 2 },
      },
    });
    const whole = (await (await get(`${worker.url}/sources/${source.name}/stats`, null)).json()) as {
      windows: Record<string, number>;
    };
    expect(whole.windows).toEqual({ "5m": N, "1h": N + 1, "1d": N + 2, "2d": N + 3, "3d": N + 4 });
  });

  it("answers bad input with a JSON error and a 4xx", async () => {
    const cases: [string, number, string, string | null][] = [
      [`sources/nope/stats`, 404, "unknown_source", null],
      [`sources/nope/documents/a/stats`, 404, "unknown_source", API_KEY],
      [`sources/${source.name}/documents/${"x".repeat(256)}/stats`, 400, "invalid_id", API_KEY],
      [`sources/${source.name}/documents/a%2Fb/stats`, 400, "invalid_id", API_KEY],
      [`sources/${source.name}/documents/a/stats`, 401, "unauthorized", null],
    ];
    for (const [path, status, code, key] of cases) {
      const response = await get(`${worker.url}/${path}`, key);
      expect(response.status, path).toBe(status);
      expect(await response.json(), path).toEqual({ error: { code, message: expect.any(String) } });
    }
    const post = await fetch(`${worker.url}/sources/${source.name}/stats`, { method: "POST" });
    expect(post.status).toBe(405);
  });
});

describe("sync events that cannot be written", () => {
  let source: TestSource;
  let worker: WorkerHandle;

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  it("never fail the sync: the keys are synced, the failed events counted", async () => {
    source = await createTestSource();
    // A plain index by the stream's name: Elasticsearch refuses data-stream writes to it.
    const stream = `plain-${source.name}`;
    await source.elastic.indices.create({ index: stream });
    worker = await startTestWorker(source, { SYNC_EVENTS_STREAM: stream });
    const ids = Array.from({ length: 10 }, (_, i) => `e-${i}`);
    await createDocs(
      source,
      ids.map((id) => ({ id, tenant: "t", title: id, n: 1 })),
    );
    const response = await fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": API_KEY },
      body: JSON.stringify({ items: ids.map((id) => ({ id, pk: "t" })) }),
    });
    expect(response.status).toBe(202);
    await eventually(async () => expect((await source.indexed()).size).toBe(10));
    await worker.services.history!.flush();
    await eventually(async () => {
      const samples = parsePrometheus(await (await fetch(worker.url.replace(/\/api$/, "/metrics"))).text());
      expect(total(samples, "driftless_keys_indexed_total", { source: source.name })).toBe(10);
      expect(total(samples, "driftless_sync_events_failed_total", { source: source.name })).toBe(10);
    });
    expect(worker.services.history!.totals).toMatchObject({ written: 0, failed: 10 });
    const status = (await (await get(`${worker.url}/status`, null)).json()) as { syncEvents?: unknown };
    expect(status.syncEvents).toEqual({ written: 0, failed: 10, dropped: 0 });
    const stats = await worker.services.sources.get(source.name)!.queue.stats(Date.now());
    expect(stats).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
    await source.elastic.indices.delete({ index: stream });
    await source.elastic.indices.deleteIndexTemplate({ name: stream });
  });
});
