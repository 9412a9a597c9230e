import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus, total } from "../setup/prometheus.js";
import { loadConfig } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { differences } from "../setup/compare.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const API_KEY = "e2e-test-key-0123456789";

describe("end to end: HTTP producer → worker mode → Elasticsearch", () => {
  let source: TestSource;
  let worker: WorkerHandle;

  beforeAll(async () => {
    source = await createTestSource({ extra: { softDeleteField: "isDeleted" } });
    // Keys come from the HTTP producer only: with capture on, the change feed would enqueue the same
    // changes again at its own pace, and "enqueues nothing" could see them arrive late.
    const config = loadConfig({
      ...source.env,
      WORKER_PORT: "0",
      DRIFTLESS_API_KEY: API_KEY,
      SYNC_BATCH_SIZE: "50",
      CAPTURE_ENABLED: "false",
    });
    worker = await startWorker(config, { logger: silentLogger });
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  const enqueue = (body: unknown, key: string | null = API_KEY) =>
    fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { "x-functions-key": key } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("creates, updates, soft and hard deletes reach the index with Cosmos's versions", async () => {
    const docs = Array.from({ length: 60 }, (_, i) => ({
      id: `doc-${i}`,
      tenant: `t${i % 4}`,
      title: `first ${i}`,
      n: i,
    }));
    for (const doc of docs) await source.container.items.create(doc);
    const created = await enqueue({ items: docs.map((d) => ({ id: d.id, pk: d.tenant })) });
    expect(created.status).toBe(202);
    expect(await created.json()).toEqual({ enqueued: 60, duplicates: 0 });
    await eventually(async () => expect(await differences(source, { softDeleteField: "isDeleted" })).toEqual([]));

    // Updates land in a later second than the creates, so their _ts (the external version) is higher.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const changed: { id: string; pk: string }[] = [];
    for (const doc of docs.slice(0, 20)) {
      await source.container.items.upsert({ ...doc, title: `second ${doc.n}`, n: doc.n + 1000 });
      changed.push({ id: doc.id, pk: doc.tenant });
    }
    for (const doc of docs.slice(20, 30)) {
      await source.container.item(doc.id, doc.tenant).delete();
      changed.push({ id: doc.id, pk: doc.tenant });
    }
    for (const doc of docs.slice(30, 35)) {
      await source.container.items.upsert({ ...doc, isDeleted: true });
      changed.push({ id: doc.id, pk: doc.tenant });
    }
    const second = await enqueue({ items: [...changed, ...changed.slice(0, 5)] });
    expect(second.status).toBe(202);
    // 35 distinct keys, five of them twice in the same request.
    expect(await second.json()).toEqual({ enqueued: 35, duplicates: 5 });

    await eventually(async () => expect(await differences(source, { softDeleteField: "isDeleted" })).toEqual([]));
    const indexed = await source.indexed();
    expect(indexed.size).toBe(45); // 60 created, 10 hard-deleted, 5 soft-deleted
    expect(indexed.has("doc-20") || indexed.has("doc-30")).toBe(false);
    expect(indexed.get("doc-3")?.source.title).toBe("second 3");

    const status = (await (await fetch(`${worker.url}/status`)).json()) as {
      sources: { name: string; pending: number; inflight: number; deadLettered: number; lastSyncAt: string | null }[];
    };
    const mine = status.sources.find((s) => s.name === source.name)!;
    expect(mine).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
    expect(mine.lastSyncAt).not.toBeNull();
  }, 120_000);

  it("rejects bad requests with a JSON error code and enqueues nothing", async () => {
    // Through the enqueue counters: this worker syncs, so a key enqueued by mistake would be
    // claimed, found missing and acked before any look at the queue.
    const enqueueCount = async () => {
      const samples = parsePrometheus(await (await fetch(worker.url.replace(/\/api$/, "/metrics"))).text());
      return total(samples, "driftless_keys_enqueued_total") + total(samples, "driftless_keys_duplicates_total");
    };
    const before = await enqueueCount();
    const cases: [unknown, number, string, string | null][] = [
      ["{not json", 400, "invalid_json", API_KEY],
      [{ items: [{ id: 7, pk: "t" }] }, 400, "invalid_body", API_KEY],
      [{ ids: ["a"] }, 400, "partition_key_required", API_KEY],
      [{ items: Array.from({ length: 1001 }, (_, i) => ({ id: `x${i}`, pk: "t" })) }, 413, "too_many_items", API_KEY],
      [{ items: [{ id: "a", pk: "t" }] }, 401, "unauthorized", null],
      [{ items: [{ id: "a", pk: "t" }] }, 401, "unauthorized", "wrong-key-wrong-key"],
    ];
    for (const [body, status, code, key] of cases) {
      const response = await enqueue(body, key);
      expect(response.status, code).toBe(status);
      expect(await response.json()).toEqual({ error: { code, message: expect.any(String) } });
    }
    const unknown = await fetch(`${worker.url}/sources/nope/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": API_KEY },
      body: "{}",
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_source");
    const huge = await enqueue("x".repeat(2_000_000));
    expect(huge.status).toBe(413);

    const stats = await worker.services.sources.get(source.name)!.queue.stats(Date.now());
    expect(stats.pending + stats.inflight).toBe(0);
    expect(await enqueueCount()).toBe(before);
  }, 120_000);

  it("answers concurrent requests for the same keys each with the counts of its own keys", async () => {
    // A second worker with a queue of its own and no sync, so that no key is claimed between its two copies.
    const config = loadConfig({
      ...source.env,
      REDIS_KEY_PREFIX: `${source.env.REDIS_KEY_PREFIX}-producer`,
      WORKER_PORT: "0",
      DRIFTLESS_API_KEY: API_KEY,
      WORKER_SYNC: "false",
      CAPTURE_ENABLED: "false",
    });
    const producer = await startWorker(config, { logger: silentLogger });
    try {
      const keys = Array.from({ length: 40 }, (_, i) => ({ id: `concurrent-${i}`, pk: "t0" }));
      // Every key twice, in requests sent together.
      const responses = await Promise.all(
        [...keys, ...keys].map((item) =>
          fetch(`${producer.url}/sources/${source.name}/enqueue`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-functions-key": API_KEY },
            body: JSON.stringify({ items: [item] }),
          }),
        ),
      );
      expect(responses.map((response) => response.status)).toEqual(responses.map(() => 202));
      const bodies = (await Promise.all(responses.map((response) => response.json()))) as {
        enqueued: number;
        duplicates: number;
      }[];
      for (const body of bodies) expect(body.enqueued + body.duplicates).toBe(1);
      expect(bodies.reduce((sum, body) => sum + body.enqueued, 0)).toBe(40);
    } finally {
      await producer.stop();
    }
  }, 120_000);

  it("answers health with every dependency up", async () => {
    const response = await fetch(`${worker.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "ok",
      checks: { redis: { ok: true }, elasticsearch: { ok: true }, cosmos: { ok: true } },
    });
  }, 120_000);
});
