import functions from "@azure/functions";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePorts } from "../../scripts/stack/ports.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { invocationContext, onTimeTimer } from "../setup/invocation.js";

const { HttpRequest } = functions;

/**
 * How the Functions host starts driftless: once per worker process, on the first invocation, and
 * again on the next one when a start fails. Each case loads the function modules afresh with its
 * own settings, as a new worker process would.
 */
describe("Azure Functions cold start", () => {
  let source: TestSource;
  let redis: Redis;
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    source = await createTestSource();
    redis = new Redis(source.env.REDIS_URL!);
  });

  afterAll(async () => {
    for (const services of opened) await services.close();
    redis?.disconnect();
    await source?.dispose();
  });

  /** Connections the test Redis has open (this file's own included). */
  const connections = async () =>
    String(await redis.call("CLIENT", "LIST"))
      .trim()
      .split("\n").length;
  const context = invocationContext;
  const timer = onTimeTimer;
  const enqueueRequest = (items: { id: string; pk: string }[]) =>
    new HttpRequest({
      method: "POST",
      url: `http://localhost:7071/api/sources/${source.name}/enqueue`,
      params: { source: source.name },
      headers: { "content-type": "application/json" },
      body: { string: JSON.stringify({ items }) },
    });

  /** The function modules as a new worker process loads them, with `env` over the test source's settings. */
  async function coldStart(env: Record<string, string | undefined>) {
    vi.resetModules();
    for (const [name, value] of Object.entries({ ...source.env, ...env })) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    const { httpFunction } = await import("../../functions/http.js");
    return {
      enqueue: httpFunction("enqueue"),
      health: httpFunction("health"),
      ...(await import("../../functions/capture.js")),
      ...(await import("../../functions/sync-timer.js")),
      ...(await import("../../functions/lib/services.js")),
    };
  }

  it("a start that fails closes the Redis connection it opened, on every invocation", async () => {
    // createServices connects Redis, then reads the Elasticsearch CA file, which is not there.
    const fn = await coldStart({ ELASTICSEARCH_CA_FILE: "/nonexistent/driftless-ca.pem" });
    const before = await connections();
    for (let i = 0; i < 5; i++) {
      const response = await fn.enqueue(enqueueRequest([{ id: `x${i}`, pk: "a" }]), context("enqueue"));
      expect(response).toMatchObject({ status: 503, jsonBody: { error: { code: "not_ready" } } });
    }
    // A leaked client connects a moment later and stays; a closed one never shows up or leaves.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await eventually(async () => expect(await connections()).toBe(before), { timeoutMs: 3000 });
  });

  it("with Elasticsearch unreachable, enqueue and capture work, the sync waits, and no invocation opens new clients", async () => {
    const [deadPort] = await freePorts(1);
    const fn = await coldStart({
      ELASTICSEARCH_CA_FILE: undefined,
      ELASTICSEARCH_URL: `http://127.0.0.1:${deadPort}`,
      ELASTICSEARCH_REQUEST_TIMEOUT_MS: "1000",
    });
    const before = await connections();

    const enqueued = await fn.enqueue(
      enqueueRequest([
        { id: "e1", pk: "a" },
        { id: "e2", pk: "b" },
      ]),
      context("enqueue"),
    );
    expect(enqueued).toMatchObject({ status: 202, jsonBody: { enqueued: 2, duplicates: 0 } });
    const services = await fn.getServices();
    opened.push(services);
    await fn.captureHandler(source.name)(
      [
        { id: "c1", tenant: "a" },
        { id: "c2", tenant: "b" },
      ],
      context(`capture-${source.name}`),
    );
    expect(await services.sources.get(source.name)!.queue.stats(Date.now())).toMatchObject({ pending: 4 });

    for (let i = 0; i < 3; i++)
      await expect(fn.syncTimer(timer, context("sync-timer"))).rejects.toThrow(/elasticsearch/i);
    const health = await fn.health(
      new HttpRequest({ method: "GET", url: "http://localhost:7071/api/health" }),
      context("health"),
    );
    expect(health).toMatchObject({
      status: 503,
      jsonBody: {
        checks: {
          redis: { ok: true },
          elasticsearch: { ok: false, error: "redacted: see the function logs or the driftless CLI" },
        },
      },
    });
    for (let i = 0; i < 3; i++)
      expect((await fn.enqueue(enqueueRequest([{ id: `r${i}`, pk: "a" }]), context("enqueue"))).status).toBe(202);

    // One set of clients for every invocation above: its Redis connection, and no other.
    expect(await connections()).toBe(before + 1);
    expect(await fn.getServices()).toBe(services);
  });
});
