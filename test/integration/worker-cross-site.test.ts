import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const API_KEY = "cross-site-test-key-0123456789";

interface Sent {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * What a web page can make a browser send to a worker on this machine, sent as the browser would
 * (node:http, so `Host` and `Origin` are ours to set): a cross-site form or `text/plain` post, a
 * body without a type, and a request to a name the page re-pointed at 127.0.0.1 (DNS rebinding).
 * None of them may purge the dead letter each test starts with.
 */
describe("worker mode refuses requests a web page can forge", () => {
  let source: TestSource;
  const workers: WorkerHandle[] = [];

  beforeAll(async () => {
    source = await createTestSource();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await source?.dispose();
  });

  async function worker(env: Record<string, string> = {}) {
    const config = loadConfig({
      ...source.env,
      WORKER_HOST: "127.0.0.1",
      WORKER_PORT: "0",
      WORKER_SYNC: "false",
      CAPTURE_ENABLED: "false",
      ...env,
    });
    const started = await startWorker(config, { logger: silentLogger });
    workers.push(started);
    return started;
  }

  function send(
    target: WorkerHandle,
    { method = "POST", path, headers = {}, body }: Sent,
  ): Promise<{ status: number; body: unknown }> {
    const { port } = new URL(target.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: `/api/${path}`,
          method,
          headers: { ...headers, ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** One dead letter in the source's queue, so that a purge that gets through shows. */
  async function withDeadLetter(target: WorkerHandle) {
    const queue = target.services.sources.get(source.name)!.queue;
    await queue.purgeDeadLetters();
    await queue.enqueue([{ id: "victim", pk: "t" }], { lane: "live", now: Date.now() });
    const claim = await queue.claim({ max: 1, leaseMs: 10_000, now: Date.now() });
    await queue.deadLetter(
      claim.token,
      claim.items.map((item) => ({ member: item.member, error: "kept for the test" })),
      Date.now(),
    );
    return async () => (await queue.stats(Date.now())).deadLettered;
  }

  const purgePath = () => `sources/${source.name}/deadletters/purge`;
  const ALL = JSON.stringify({ all: true });
  const error = (code: string) => ({ error: { code, message: expect.any(String) } });

  it("without a key: a foreign Origin, a body that is not JSON, and a foreign Host are refused, and nothing is purged", async () => {
    const target = await worker();
    const deadLetters = await withDeadLetter(target);
    const evil = "http://evil.example";
    const cases: [string, Sent, number, string][] = [
      [
        "text/plain from another site",
        { path: purgePath(), headers: { "content-type": "text/plain;charset=UTF-8", origin: evil }, body: ALL },
        403,
        "origin_not_allowed",
      ],
      [
        "a form post from another site",
        {
          path: purgePath(),
          headers: { "content-type": "application/x-www-form-urlencoded", origin: evil },
          body: "all=true",
        },
        403,
        "origin_not_allowed",
      ],
      [
        "JSON from another site (a preflight would be refused; curl can send it)",
        { path: purgePath(), headers: { "content-type": "application/json", origin: evil }, body: ALL },
        403,
        "origin_not_allowed",
      ],
      [
        "an opaque origin",
        { path: purgePath(), headers: { "content-type": "application/json", origin: "null" }, body: ALL },
        403,
        "origin_not_allowed",
      ],
      [
        "text/plain without Origin",
        { path: purgePath(), headers: { "content-type": "text/plain" }, body: ALL },
        415,
        "unsupported_media_type",
      ],
      [
        "form urlencoded without Origin",
        { path: purgePath(), headers: { "content-type": "application/x-www-form-urlencoded" }, body: ALL },
        415,
        "unsupported_media_type",
      ],
      [
        "multipart without Origin",
        {
          path: purgePath(),
          headers: { "content-type": "multipart/form-data; boundary=x" },
          body: `--x\r\ncontent-disposition: form-data; name="all"\r\n\r\ntrue\r\n--x--\r\n`,
        },
        415,
        "unsupported_media_type",
      ],
      ["a body without a type", { path: purgePath(), body: ALL }, 415, "unsupported_media_type"],
      [
        "DNS rebinding: the page's own name in Host",
        {
          path: purgePath(),
          headers: {
            host: "evil.example:7071",
            "content-type": "application/json",
            origin: "http://evil.example:7071",
          },
          body: ALL,
        },
        403,
        "host_not_allowed",
      ],
      [
        "DNS rebinding, reading",
        { method: "GET", path: "status", headers: { host: "evil.example" } },
        403,
        "host_not_allowed",
      ],
      [
        "a name that merely starts like loopback",
        { method: "GET", path: "health", headers: { host: "127.0.0.1.evil.example" } },
        403,
        "host_not_allowed",
      ],
    ];
    for (const [name, sent, status, code] of cases) {
      const answer = await send(target, sent);
      expect({ name, ...answer }).toEqual({ name, status, body: error(code) });
    }
    expect(await deadLetters()).toBe(1);
  });

  it("without a key: loopback names and origins on any port work", async () => {
    const target = await worker();
    const deadLetters = await withDeadLetter(target);
    for (const host of ["localhost", "127.0.0.1:7071", "127.1.2.3", "[::1]:8080", "LOCALHOST:1"]) {
      expect((await send(target, { method: "GET", path: "status", headers: { host } })).status, host).toBe(200);
    }
    // A reimport and a reconcile need no body; a body-less POST needs no type.
    expect((await send(target, { path: `sources/${source.name}/reconcile` })).status).toBe(202);
    const purged = await send(target, {
      path: purgePath(),
      headers: { "content-type": "application/json; charset=utf-8", origin: "http://localhost:3000" },
      body: ALL,
    });
    expect(purged).toEqual({ status: 200, body: { purged: 1 } });
    expect(await deadLetters()).toBe(0);
  });

  it("DRIFTLESS_ALLOWED_HOSTS adds names for Host and Origin, and is enforced with a key too", async () => {
    const target = await worker({
      DRIFTLESS_ALLOWED_HOSTS: "driftless.internal, 10.0.0.5",
      DRIFTLESS_API_KEY: API_KEY,
    });
    const deadLetters = await withDeadLetter(target);
    expect(
      (await send(target, { method: "GET", path: "status", headers: { host: "driftless.internal:8443" } })).status,
    ).toBe(200);
    expect((await send(target, { method: "GET", path: "status", headers: { host: "10.0.0.5" } })).status).toBe(200);
    expect(await send(target, { method: "GET", path: "status", headers: { host: "other.internal" } })).toEqual({
      status: 403,
      body: error("host_not_allowed"),
    });
    const keyed = { "content-type": "application/json", "x-functions-key": API_KEY };
    expect(
      await send(target, {
        path: purgePath(),
        headers: { ...keyed, host: "driftless.internal", origin: "https://elsewhere.example" },
        body: ALL,
      }),
    ).toEqual({
      status: 403,
      body: error("origin_not_allowed"),
    });
    expect(await deadLetters()).toBe(1);
    const purged = await send(target, {
      path: purgePath(),
      headers: { ...keyed, host: "driftless.internal", origin: "https://driftless.internal" },
      body: ALL,
    });
    expect(purged).toEqual({ status: 200, body: { purged: 1 } });
  });

  it("with a key and no allowed hosts: any Host, but a state-changing body must still be JSON", async () => {
    const target = await worker({ DRIFTLESS_API_KEY: API_KEY });
    const deadLetters = await withDeadLetter(target);
    expect(
      (await send(target, { method: "GET", path: "status", headers: { host: "worker-7.cluster.local" } })).status,
    ).toBe(200);
    const answer = await send(target, {
      path: purgePath(),
      headers: { "content-type": "text/plain", "x-functions-key": API_KEY },
      body: ALL,
    });
    expect(answer).toEqual({ status: 415, body: error("unsupported_media_type") });
    expect(await deadLetters()).toBe(1);
  });
});
