import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import type { HttpFunction } from "../../functions/http.js";
import { invocationContext, onTimeTimer } from "../setup/invocation.js";

const { HttpRequest } = functions;

/** The sync history's HTTP functions, called as the host calls them, after a timer sync in process. */
describe("Azure Functions: sync history stats", () => {
  let source: TestSource;
  let handlers: {
    enqueue: HttpFunction;
    syncTimer: typeof import("../../functions/sync-timer.js").syncTimer;
    sourceStats: HttpFunction;
    documentStats: HttpFunction;
    sourceHistory: HttpFunction;
    statusPage: HttpFunction;
  };

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_TIME_BUDGET_MS: "1500" } });
    Object.assign(process.env, source.env);
    const { httpFunction } = await import("../../functions/http.js");
    handlers = {
      enqueue: httpFunction("enqueue"),
      ...(await import("../../functions/sync-timer.js")),
      sourceStats: httpFunction("source-stats"),
      documentStats: httpFunction("document-stats"),
      sourceHistory: httpFunction("source-history"),
      statusPage: httpFunction("status-page"),
    };
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  const context = invocationContext;
  const get = (path: string, params: Record<string, string>) =>
    new HttpRequest({ method: "GET", url: `http://localhost:7071/api/${path}`, params });
  const timer = onTimeTimer;

  it("counts what the timer synced, per source and per document", async () => {
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        source.container.items.create({ id: `s${i}`, tenant: "a", title: `doc ${i}`, n: i }),
      ),
    );
    const items = Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, pk: "a" }));
    const enqueued = await handlers.enqueue(
      new HttpRequest({
        method: "POST",
        url: `http://localhost:7071/api/sources/${source.name}/enqueue`,
        params: { source: source.name },
        headers: { "content-type": "application/json" },
        body: { string: JSON.stringify({ items }) },
      }),
      context("enqueue"),
    );
    expect(enqueued.status).toBe(202);
    await handlers.syncTimer(timer, context("sync-timer"));
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).history!.flush();

    const ones = { "5m": 1, "1h": 1, "1d": 1, "2d": 1, "3d": 1 };
    await eventually(async () => {
      const response = await handlers.sourceStats(
        get(`sources/${source.name}/stats`, { source: source.name }),
        context("source-stats"),
      );
      expect(response).toMatchObject({ status: 200, jsonBody: { source: source.name, windows: { "5m": 6, "3d": 6 } } });
    });
    const doc = await handlers.documentStats(
      get(`sources/${source.name}/documents/s2/stats`, { source: source.name, id: "s2" }),
      context("document-stats"),
    );
    expect(doc).toMatchObject({ status: 200, jsonBody: { source: source.name, id: "s2", windows: ones } });

    const history = await handlers.sourceHistory(
      new HttpRequest({
        method: "GET",
        url: `http://localhost:7071/api/sources/${source.name}/history?minutes=30`,
        params: { source: source.name },
      }),
      context("source-history"),
    );
    const body = history.jsonBody as { minutes: number; bucketMs: number; buckets: { at: number; synced: number }[] };
    expect(history.status).toBe(200);
    expect(body).toMatchObject({ minutes: 30, bucketMs: 60_000 });
    // 30 minutes of one-minute buckets, oldest first, the six changes in the newest ones.
    expect(body.buckets.length).toBeGreaterThanOrEqual(30);
    expect(body.buckets.map((bucket) => bucket.at)).toEqual(
      [...body.buckets.map((bucket) => bucket.at)].sort((a, b) => a - b),
    );
    expect(body.buckets.reduce((sum, bucket) => sum + bucket.synced, 0)).toBe(6);
    expect(body.buckets.slice(0, -2).every((bucket) => bucket.synced === 0)).toBe(true);
  });

  it("answers bad input with a JSON error", async () => {
    const unknown = await handlers.sourceStats(get("sources/nope/stats", { source: "nope" }), context("source-stats"));
    expect(unknown).toMatchObject({
      status: 404,
      jsonBody: { error: { code: "unknown_source", message: expect.any(String) } },
    });
    const long = "x".repeat(300);
    const tooLong = await handlers.documentStats(
      get(`sources/${source.name}/documents/${long}/stats`, { source: source.name, id: long }),
      context("document-stats"),
    );
    expect(tooLong).toMatchObject({
      status: 400,
      jsonBody: { error: { code: "invalid_id", message: expect.any(String) } },
    });
    for (const minutes of ["0", "-5", "1.5", "abc", "100000"]) {
      const bad = await handlers.sourceHistory(
        new HttpRequest({
          method: "GET",
          url: `http://localhost:7071/api/sources/${source.name}/history?minutes=${minutes}`,
          params: { source: source.name },
        }),
        context("source-history"),
      );
      expect(bad, minutes).toMatchObject({
        status: 400,
        jsonBody: { error: { code: "invalid_query", message: expect.any(String) } },
      });
    }
  });

  it("serves the status page as HTML on GET /api/ui, anonymously, with the script that reads the status routes", async () => {
    const response = await handlers.statusPage(get("ui", {}), context("status-page"));
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({ "content-type": "text/html; charset=utf-8" });
    const html = String(response.body);
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('api("/api/status")');
  });
});
