import { spawnSync } from "node:child_process";
import functions from "@azure/functions";
import type { HttpFunction } from "../../functions/http.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import type { SourceQueue } from "../../shared/sync/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const { HttpRequest, InvocationContext } = functions;
const API_KEY = "admin-test-key-0123456789abcdef";

/**
 * Dead-letter administration end to end, three ways in (HTTP against a worker, the Functions
 * handlers, the CLI as a process): each answer's counts, and what the queue holds afterwards. The
 * worker does not sync, so a redriven key stays pending where the test can see it.
 */
describe("dead letters: redrive and purge, over HTTP, through the Functions handlers and the CLI", () => {
  let source: TestSource;
  let services: Services;
  let queue: SourceQueue;

  beforeAll(async () => {
    source = await createTestSource({ env: { WORKER_SYNC: "false", CAPTURE_ENABLED: "false" } });
    services = createServices(source.config, silentLogger);
    queue = services.sources.get(source.name)!.queue;
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  /** Dead-letters these keys the way the sync does: enqueued, claimed, settled as dead. */
  async function deadLetter(keys: readonly DocKey[]): Promise<void> {
    await queue.enqueue(keys, { lane: "live", now: Date.now() });
    const wanted = new Set(keys.map(encodeKey));
    const claim = await queue.claim({ max: 1000, leaseMs: 30_000, now: Date.now() });
    const [dead, others] = [
      claim.items.filter((item) => wanted.has(item.member)),
      claim.items.filter((item) => !wanted.has(item.member)),
    ];
    expect(dead).toHaveLength(keys.length);
    await queue.deadLetter(
      claim.token,
      dead.map((item) => ({
        member: item.member,
        error: `refused ${item.member}`,
        reason: "rejected by elasticsearch",
      })),
      Date.now(),
    );
    // Keys pending from an earlier step go back as they were.
    if (others.length)
      await queue.release(
        claim.token,
        others.map((item) => item.member),
        Date.now(),
      );
  }

  /** What the queue holds: pending keys by id, and dead letters by id. */
  async function state() {
    const stats = await queue.stats(Date.now());
    const dead = (await queue.listDeadLetters({ limit: 1000 })).map((letter) => letter.key.id).sort();
    return { pending: stats.pending, inflight: stats.inflight, dead };
  }

  /** Empties the queue between scenarios: each starts from nothing pending and no dead letters. */
  async function reset(): Promise<void> {
    await queue.purgeDeadLetters();
    await queue.reap(Date.now() + 3_600_000);
    const claim = await queue.claim({ max: 1000, leaseMs: 30_000, now: Date.now() + 3_600_000 });
    if (claim.items.length)
      await queue.ack(
        claim.token,
        claim.items.map((item) => item.member),
        Date.now(),
      );
    expect(await state()).toEqual({ pending: 0, inflight: 0, dead: [] });
  }

  const keys = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, pk: `t${i % 2}` }));

  describe("over HTTP against a worker", () => {
    let worker: WorkerHandle;
    beforeAll(async () => {
      worker = await startWorker(loadConfig({ ...source.env, WORKER_PORT: "0", DRIFTLESS_API_KEY: API_KEY }), {
        logger: silentLogger,
      });
    });
    afterAll(async () => worker?.stop());

    const post = async (route: "redrive" | "purge", body: unknown) => {
      const response = await fetch(`${worker.url}/sources/${source.name}/deadletters/${route}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-functions-key": API_KEY },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };

    it("redrive by key, then {} for all: each answers its count and the keys are pending again", async () => {
      await reset();
      await deadLetter(keys("h", 4));
      expect(await post("redrive", { items: [{ id: "h1", pk: "t1" }] })).toEqual({
        status: 202,
        body: { redriven: 1 },
      });
      expect(await state()).toEqual({ pending: 1, inflight: 0, dead: ["h0", "h2", "h3"] });
      // A key that is not dead-lettered redrives nothing, and says so.
      expect(await post("redrive", { items: [{ id: "h1", pk: "t1" }] })).toEqual({
        status: 202,
        body: { redriven: 0 },
      });
      expect(await post("redrive", {})).toEqual({ status: 202, body: { redriven: 3 } });
      expect(await state()).toEqual({ pending: 4, inflight: 0, dead: [] });
      // Redriven with its attempts reset: the next claim finds it fresh.
      const claim = await queue.claim({ max: 10, leaseMs: 1000, now: Date.now() });
      expect(claim.items.map((item) => item.attempts)).toEqual([0, 0, 0, 0]);
    });

    it('purge by key, then {"all":true}: each answers its count, the dead letters are gone and nothing is queued', async () => {
      await reset();
      await deadLetter(keys("p", 3));
      expect(await post("purge", { items: [{ id: "p0", pk: "t0" }] })).toEqual({ status: 200, body: { purged: 1 } });
      expect(await state()).toEqual({ pending: 0, inflight: 0, dead: ["p1", "p2"] });
      expect(await post("purge", { all: true })).toEqual({ status: 200, body: { purged: 2 } });
      expect(await state()).toEqual({ pending: 0, inflight: 0, dead: [] });
      // An empty purge body is refused and purges nothing.
      await deadLetter(keys("q", 1));
      expect(await post("purge", {})).toMatchObject({ status: 400, body: { error: { code: "invalid_body" } } });
      expect(await state()).toEqual({ pending: 0, inflight: 0, dead: ["q0"] });
    });
  });

  describe("through the Functions handlers", () => {
    let handlers: { deadLettersList: HttpFunction; deadLettersRedrive: HttpFunction; deadLettersPurge: HttpFunction };
    beforeAll(async () => {
      // Handlers read their settings from the environment, as in the Functions host.
      Object.assign(process.env, source.env);
      const { httpFunction } = await import("../../functions/http.js");
      handlers = {
        deadLettersList: httpFunction("deadletters-list"),
        deadLettersRedrive: httpFunction("deadletters-redrive"),
        deadLettersPurge: httpFunction("deadletters-purge"),
      };
    });
    afterAll(async () => {
      const { getServices } = await import("../../functions/lib/services.js");
      await (await getServices()).close();
    });

    const context = (name: string) => new InvocationContext({ functionName: name, invocationId: `admin-${name}` });
    const request = (route: "redrive" | "purge", body: unknown) =>
      new HttpRequest({
        method: "POST",
        url: `http://localhost:7071/api/sources/${source.name}/deadletters/${route}`,
        params: { source: source.name },
        headers: { "content-type": "application/json" },
        body: { string: JSON.stringify(body) },
      });

    it('redrive by key and {} answer their counts and queue the keys; purge by key and {"all":true} remove the letters', async () => {
      await reset();
      await deadLetter(keys("f", 5));
      expect(
        await handlers.deadLettersRedrive(
          request("redrive", {
            items: [
              { id: "f0", pk: "t0" },
              { id: "f3", pk: "t1" },
            ],
          }),
          context("deadletters-redrive"),
        ),
      ).toMatchObject({
        status: 202,
        jsonBody: { redriven: 2 },
      });
      expect(await state()).toEqual({ pending: 2, inflight: 0, dead: ["f1", "f2", "f4"] });
      expect(
        await handlers.deadLettersPurge(
          request("purge", { items: [{ id: "f1", pk: "t1" }] }),
          context("deadletters-purge"),
        ),
      ).toMatchObject({ status: 200, jsonBody: { purged: 1 } });
      expect(await state()).toEqual({ pending: 2, inflight: 0, dead: ["f2", "f4"] });
      expect(await handlers.deadLettersRedrive(request("redrive", {}), context("deadletters-redrive"))).toMatchObject({
        status: 202,
        jsonBody: { redriven: 2 },
      });
      expect(await state()).toEqual({ pending: 4, inflight: 0, dead: [] });
      await deadLetter(keys("g", 2));
      expect(
        await handlers.deadLettersPurge(request("purge", { all: true }), context("deadletters-purge")),
      ).toMatchObject({ status: 200, jsonBody: { purged: 2 } });
      expect(await state()).toEqual({ pending: 4, inflight: 0, dead: [] });
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
  });

  describe("through the CLI", () => {
    const driftless = (args: string[]) => {
      const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", ...args], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...source.env },
        timeout: 120_000,
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };

    it("deadletters list, redrive (one key, then all) and purge (one key, then --all): exit 0, the counts, and the queue after", async () => {
      await reset();
      await deadLetter(keys("c", 4));
      const list = driftless(["deadletters", "list", source.name, "--json"]);
      expect(list.code, list.stderr).toBe(0);
      const listed = JSON.parse(list.stdout) as {
        total: number;
        items: { id: string; pk: unknown; reason: string; lastError: string }[];
      };
      expect(listed.total).toBe(4);
      expect(listed.items.find((item) => item.id === "c2")).toMatchObject({
        pk: "t0",
        reason: "rejected by elasticsearch",
        lastError: `refused ${encodeKey({ id: "c2", pk: "t0" })}`,
      });

      expect(driftless(["deadletters", "redrive", source.name, "c1", '"t1"'])).toEqual({
        code: 0,
        stdout: '{"redriven":1}\n',
        stderr: "",
      });
      expect(await state()).toEqual({ pending: 1, inflight: 0, dead: ["c0", "c2", "c3"] });
      expect(driftless(["deadletters", "purge", source.name, "c0", '"t0"'])).toEqual({
        code: 0,
        stdout: '{"purged":1}\n',
        stderr: "",
      });
      expect(await state()).toEqual({ pending: 1, inflight: 0, dead: ["c2", "c3"] });
      expect(driftless(["deadletters", "redrive", source.name])).toEqual({
        code: 0,
        stdout: '{"redriven":2}\n',
        stderr: "",
      });
      expect(await state()).toEqual({ pending: 3, inflight: 0, dead: [] });
      await deadLetter(keys("d", 2));
      expect(driftless(["deadletters", "purge", source.name, "--all"])).toEqual({
        code: 0,
        stdout: '{"purged":2}\n',
        stderr: "",
      });
      expect(await state()).toEqual({ pending: 3, inflight: 0, dead: [] });
    }, 120_000);
  });
});
