import { ChangeFeedMode, ChangeFeedStartFrom } from "@azure/cosmos";
import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { differences } from "../setup/compare.js";
import type { HttpFunction } from "../../functions/http.js";
import { invocationContext, onTimeTimer } from "../setup/invocation.js";

const { HttpRequest } = functions;

/**
 * The exported Azure Functions handlers, called as the host would call them. The host itself
 * cannot run here; registration runs in the library's test mode.
 */
describe("Azure Functions handlers", () => {
  let source: TestSource;
  let handlers: {
    enqueue: HttpFunction;
    status: HttpFunction;
    health: HttpFunction;
    live: HttpFunction;
    ready: HttpFunction;
    deadLettersList: HttpFunction;
    deadLettersRedrive: HttpFunction;
    deadLettersPurge: HttpFunction;
    syncTimer: typeof import("../../functions/sync-timer.js").syncTimer;
    captureHandler: typeof import("../../functions/capture.js").captureHandler;
  };

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_TIME_BUDGET_MS: "1500", ENQUEUE_MAX_ITEMS: "50" } });
    // Handlers read their settings from the environment, as in the Functions host.
    Object.assign(process.env, source.env);
    const { httpFunction } = await import("../../functions/http.js");
    handlers = {
      enqueue: httpFunction("enqueue"),
      status: httpFunction("status"),
      health: httpFunction("health"),
      live: httpFunction("live"),
      ready: httpFunction("ready"),
      deadLettersList: httpFunction("deadletters-list"),
      deadLettersRedrive: httpFunction("deadletters-redrive"),
      deadLettersPurge: httpFunction("deadletters-purge"),
      ...(await import("../../functions/sync-timer.js")),
      ...(await import("../../functions/capture.js")),
    };
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  const timer = onTimeTimer;
  const context = invocationContext;
  const post = (body: string, sourceName = source.name) =>
    new HttpRequest({
      method: "POST",
      url: `http://localhost:7071/api/sources/${sourceName}/enqueue`,
      params: { source: sourceName },
      headers: { "content-type": "application/json" },
      body: { string: body },
    });
  const pending = async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    const stats = await (await getServices()).sources.get(source.name)!.queue.stats(Date.now());
    return stats.pending + stats.inflight;
  };

  it("enqueue answers bad input with 4xx and a JSON error code, and enqueues nothing", async () => {
    const cases: [string, number, string, string?][] = [
      ["{oops", 400, "invalid_json"],
      ["", 400, "invalid_json"],
      ['{"items":[{"id":1,"pk":"t"}]}', 400, "invalid_body"],
      ['{"items":[{"id":"a","pk":{"nested":true}}]}', 400, "invalid_body"],
      ['{"items":"all"}', 400, "invalid_body"],
      ['{"items":[]}', 400, "no_items"],
      [
        JSON.stringify({ items: Array.from({ length: 51 }, (_, i) => ({ id: `d${i}`, pk: "t" })) }),
        413,
        "too_many_items",
      ],
      ['{"items":[{"id":"a","pk":"t"}]}', 404, "unknown_source", "no-such-source"],
    ];
    for (const [body, status, code, sourceName] of cases) {
      const response = await handlers.enqueue(post(body, sourceName), context("enqueue"));
      expect(response.status, body.slice(0, 40)).toBe(status);
      expect(response.jsonBody).toEqual({ error: { code, message: expect.any(String) } });
    }
    expect(await pending()).toBe(0);
  });

  it("enqueue, then the timer sync indexes the documents", async () => {
    for (let i = 0; i < 10; i++)
      await source.container.items.create({ id: `f${i}`, tenant: "a", title: `doc ${i}`, n: i });
    const items = Array.from({ length: 10 }, (_, i) => ({ id: `f${i}`, pk: "a" }));
    const response = await handlers.enqueue(post(JSON.stringify({ items })), context("enqueue"));
    expect(response).toMatchObject({ status: 202, jsonBody: { enqueued: 10, duplicates: 0 } });

    const status = await handlers.status(
      new HttpRequest({ method: "GET", url: "http://localhost:7071/api/status" }),
      context("status"),
    );
    expect(status.status).toBe(200);
    expect((status.jsonBody as { sources: { name: string; pending: number }[] }).sources).toContainEqual(
      expect.objectContaining({ name: source.name, pending: 10 }),
    );

    await handlers.syncTimer(timer, context("sync-timer"));
    expect(await differences(source)).toEqual([]);
    expect(await pending()).toBe(0);
  });

  it("the change-feed trigger handler enqueues the keys of changed documents", async () => {
    const changed = [
      { id: "c1", tenant: "b", title: "from the feed", n: 1 },
      { id: "c2", tenant: "b", title: "from the feed too", n: 2 },
    ];
    for (const doc of changed) await source.container.items.create(doc);
    const { resources } = await source.container.items
      .query({ query: "SELECT * FROM c WHERE c.tenant = 'b'" })
      .fetchAll();
    await handlers.captureHandler(source.name)(resources, context(`capture-${source.name}`));
    expect(await pending()).toBe(2);
    await handlers.syncTimer(timer, context("sync-timer"));
    expect(await differences(source)).toEqual([]);
  });

  it("the trigger handler in all-versions-and-deletes mode takes a hard delete out of the index", async () => {
    await source.container.items.create({ id: "gone", tenant: "d", title: "to be deleted", n: 1 });
    await handlers.enqueue(post(JSON.stringify({ items: [{ id: "gone", pk: "d" }] })), context("enqueue"));
    await handlers.syncTimer(timer, context("sync-timer"));
    expect((await source.indexed()).has("gone")).toBe(true);

    // The records the host hands the handler in this mode, as the change feed serves them.
    const feed = source.container.items.getChangeFeedIterator({
      changeFeedStartFrom: ChangeFeedStartFrom.Now(),
      changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
    });
    expect((await feed.readNext()).statusCode).toBe(304);
    await source.container.item("gone", "d").delete();
    const { result: records } = await feed.readNext();
    expect(records).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ operationType: "delete", id: "gone" }) }),
    ]);
    await handlers.captureHandler(source.name)(records, context(`capture-${source.name}`));
    expect(await pending()).toBe(1);
    await handlers.syncTimer(timer, context("sync-timer"));
    expect((await source.indexed()).has("gone")).toBe(false);
    expect(await differences(source)).toEqual([]);
  });

  it("live and ready answer as in worker mode: 200 each with every dependency up", async () => {
    const get = (route: string) => new HttpRequest({ method: "GET", url: `http://localhost:7071/api/${route}` });
    expect(await handlers.live(get("live"), context("live"))).toEqual({ status: 200, jsonBody: { status: "live" } });
    expect(await handlers.ready(get("ready"), context("ready"))).toEqual({
      status: 200,
      jsonBody: { status: "ready" },
    });
  });

  it("health reports every dependency, and dead letters list empty", async () => {
    const health = await handlers.health(
      new HttpRequest({ method: "GET", url: "http://localhost:7071/api/health" }),
      context("health"),
    );
    const ok = { ok: true, latencyMs: expect.any(Number) };
    expect(health).toMatchObject({
      status: 200,
      jsonBody: { status: "ok", checks: { redis: ok, elasticsearch: ok, cosmos: ok } },
    });
    const list = await handlers.deadLettersList(
      new HttpRequest({
        method: "GET",
        url: `http://localhost:7071/api/sources/${source.name}/deadletters`,
        params: { source: source.name },
      }),
      context("deadletters-list"),
    );
    expect(list).toMatchObject({ status: 200, jsonBody: { total: 0, items: [] } });
  });
  it("a document whose partition key is an object is dead-lettered with its reason; the others are enqueued, and a retried batch adds nothing", async () => {
    const records = [
      { id: "pk-ok-1", tenant: "e", title: "fine", n: 1, _ts: 1_700_000_000 },
      { id: "pk-bad", tenant: { region: "eu" }, title: "unusable key", n: 2, _ts: 1_700_000_000 },
      { id: "pk-ok-2", tenant: "e", title: "fine too", n: 3, _ts: 1_700_000_000 },
    ];
    for (const record of [records[0]!, records[2]!])
      await source.container.items.create({ id: record.id, tenant: record.tenant, title: record.title, n: record.n });
    // Twice: the host hands the same batch again when an invocation fails.
    await handlers.captureHandler(source.name)(records, context(`capture-${source.name}`));
    await handlers.captureHandler(source.name)(records, context(`capture-${source.name}`));
    expect(await pending()).toBe(2);

    const listRequest = () =>
      new HttpRequest({
        method: "GET",
        url: `http://localhost:7071/api/sources/${source.name}/deadletters`,
        params: { source: source.name },
      });
    const letter = { id: "pk-bad", pk: { invalid: "partition key at /tenant is an object" } };
    expect(await handlers.deadLettersList(listRequest(), context("deadletters-list"))).toMatchObject({
      status: 200,
      jsonBody: {
        total: 1,
        items: [
          {
            ...letter,
            reason: "partition key at /tenant is an object",
            attempts: 0,
            lastError: expect.stringContaining("capture cannot enqueue"),
          },
        ],
      },
    });
    await handlers.syncTimer(timer, context("sync-timer"));
    expect([...(await source.indexed()).keys()]).toEqual(expect.arrayContaining(["pk-ok-1", "pk-ok-2"]));

    // Redriven, the key is dead-lettered again by the sync without a read; purged by its key, it is gone.
    const deadLetterPost = (route: "redrive" | "purge", body: unknown) =>
      new HttpRequest({
        method: "POST",
        url: `http://localhost:7071/api/sources/${source.name}/deadletters/${route}`,
        params: { source: source.name },
        headers: { "content-type": "application/json" },
        body: { string: JSON.stringify(body) },
      });
    expect(
      await handlers.deadLettersRedrive(deadLetterPost("redrive", { items: [letter] }), context("deadletters-redrive")),
    ).toMatchObject({ status: 202, jsonBody: { redriven: 1 } });
    await handlers.syncTimer(timer, context("sync-timer"));
    expect(await handlers.deadLettersList(listRequest(), context("deadletters-list"))).toMatchObject({
      jsonBody: { total: 1, items: [{ ...letter, reason: "partition key at /tenant is an object", attempts: 1 }] },
    });
    expect(
      await handlers.deadLettersPurge(deadLetterPost("purge", { items: [letter] }), context("deadletters-purge")),
    ).toMatchObject({ status: 200, jsonBody: { purged: 1 } });
    expect(await handlers.deadLettersList(listRequest(), context("deadletters-list"))).toMatchObject({
      jsonBody: { total: 0, items: [] },
    });
  });
});
