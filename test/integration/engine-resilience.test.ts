import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/stack/ports.js";
import { invokeRoute, routeNamed } from "../../shared/api/index.js";
import { loadConfig } from "../../shared/config/index.js";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { createCosmosReader } from "../../shared/cosmos/reader.js";
import { createBulkSink, createElasticClient } from "../../shared/elastic/index.js";
import { createQueue } from "../../shared/queue/index.js";
import { connectRedis } from "../../shared/redis/client.js";
import { queueKeys } from "../../shared/redis/keys.js";
import type { Sink } from "../../shared/sync/ports.js";
import {
  createCircuits,
  guardQueue,
  guardReader,
  guardSink,
  DependencyPause,
  type Circuits,
} from "../../shared/resilience/index.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { drain } from "../../shared/sync/drain.js";
import type { SyncDeps } from "../../shared/sync/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const CIRCUIT = { failureThreshold: 3, halfOpenAfterMs: 300, halfOpenMaxMs: 600 };

/**
 * The engine behind its circuits, against dependencies that really refuse connections (a port
 * nothing listens on) and then come back: keys are released, never retried, so no attempt is
 * spent and nothing is dead-lettered; once the dependency answers, everything syncs.
 */
describe("engine resilience: an unreachable dependency releases keys without spending attempts", () => {
  let source: TestSource;
  let services: Services;
  let redis: Redis;
  const keys = Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, pk: `t${i % 3}` }));

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_BATCH_SIZE: "10" } });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    redis = new Redis(source.env.REDIS_URL!);
    await Promise.all(
      keys.map((key, n) => source.container.items.upsert({ id: key.id, tenant: key.pk, title: `doc ${n}`, n })),
    );
  });

  afterAll(async () => {
    redis?.disconnect();
    await services?.close();
    await source?.dispose();
  });

  const attempts = () => redis.hlen(queueKeys(source.env.REDIS_KEY_PREFIX!, source.name).attempts);
  const queue = () => services.sources.get(source.name)!.queue;

  /** A sink that goes to `target`, which the test switches from a dead address to the real cluster. */
  function switchableSink(initial: Sink) {
    let target = initial;
    const sink: Sink = { write: (alias, ops) => target.write(alias, ops) };
    return {
      sink,
      use: (next: Sink) => {
        target = next;
      },
    };
  }

  async function runUntil(deps: SyncDeps, done: () => Promise<boolean>) {
    const stop = new AbortController();
    const running = drain(deps, { budgetMs: 60_000, concurrency: 2, idlePollMs: 50, signal: stop.signal });
    try {
      await eventually(async () => expect(await done()).toBe(true), { timeoutMs: 45_000, intervalMs: 100 });
    } finally {
      stop.abort();
    }
    return running;
  }

  it("Elasticsearch refusing connections: released, circuit open, no attempts; then synced once it answers", async () => {
    const circuits: Circuits = createCircuits(CIRCUIT, silentLogger);
    const dead = createBulkSink(createElasticClient({ node: `http://127.0.0.1:${await freePort()}`, maxRetries: 0 }));
    const target = switchableSink(dead);
    const deps: SyncDeps = {
      ...services.sources.get(source.name)!.sync,
      sink: guardSink(target.sink, circuits.elasticsearch),
      gate: circuits,
    };
    await queue().enqueue(keys, { lane: "live", now: Date.now() });

    const outage = await runUntil(deps, async () => circuits.elasticsearch.state() === "open");
    expect(outage.released).toBeGreaterThanOrEqual(CIRCUIT.failureThreshold);
    expect(outage.pauses).toBeGreaterThan(0);
    expect({ retried: outage.retried, deadLettered: outage.deadLettered, indexed: outage.indexed }).toEqual({
      retried: 0,
      deadLettered: 0,
      indexed: 0,
    });
    expect(await attempts()).toBe(0);
    expect(await queue().stats(Date.now())).toMatchObject({ pending: keys.length, inflight: 0, deadLettered: 0 });

    target.use(createBulkSink(services.clients.elastic));
    const recovery = await runUntil(
      deps,
      async () => (await queue().stats(Date.now())).pending === 0 && circuits.elasticsearch.state() === "closed",
    );
    expect(recovery.indexed).toBe(keys.length);
    expect(await attempts()).toBe(0);
    expect(await differences(source)).toEqual([]);
  });

  it("Cosmos refusing connections: released, circuit open, no attempts", async () => {
    const circuits = createCircuits(CIRCUIT, silentLogger);
    const config = loadConfig({
      ...source.env,
      COSMOS_ENDPOINT: `https://127.0.0.1:${await freePort()}`,
      COSMOS_REQUEST_TIMEOUT_MS: "2000",
    });
    const cosmos = createCosmosClient(config.cosmos);
    try {
      const reader = guardReader(createCosmosReader(cosmos, config.sources[0]!), circuits.cosmos, {
        timeoutMs: 10_000,
      });
      const deps: SyncDeps = { ...services.sources.get(source.name)!.sync, reader, gate: circuits };
      await queue().enqueue(keys.slice(0, 10), { lane: "live", now: Date.now() });
      const outage = await runUntil(deps, async () => circuits.cosmos.state() === "open");
      expect(outage.released).toBeGreaterThanOrEqual(10);
      expect({ retried: outage.retried, deadLettered: outage.deadLettered }).toEqual({ retried: 0, deadLettered: 0 });
      expect(await attempts()).toBe(0);
      expect(await queue().stats(Date.now())).toMatchObject({ pending: 10, inflight: 0, deadLettered: 0 });
    } finally {
      cosmos.dispose();
    }
    // The real reader takes the same keys from where they were released.
    await drain(services.sources.get(source.name)!.sync, {
      budgetMs: 30_000,
      concurrency: 1,
      idlePollMs: 20,
      untilIdle: true,
    });
    expect(await queue().stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
  });

  it("a pause that outlasts the drain's budget: the report says until when, so the next drain waits the rest", async () => {
    const circuits: Circuits = createCircuits(
      { failureThreshold: 1, halfOpenAfterMs: 5000, halfOpenMaxMs: 5000 },
      silentLogger,
    );
    const dead = createBulkSink(createElasticClient({ node: `http://127.0.0.1:${await freePort()}`, maxRetries: 0 }));
    const deps: SyncDeps = {
      ...services.sources.get(source.name)!.sync,
      sink: guardSink(dead, circuits.elasticsearch),
      gate: circuits,
    };
    await queue().enqueue(keys.slice(0, 5), { lane: "live", now: Date.now() });
    const report = await drain(deps, { budgetMs: 300, concurrency: 1, idlePollMs: 20 });
    const ended = Date.now();
    expect(report.pauses).toBeGreaterThan(0);
    // The open circuit asked for 5 s; the drain returned at its 300 ms budget, the rest still owed.
    expect(report.resumeAt).toBeGreaterThan(ended + 1000);
    expect(await attempts()).toBe(0);
    await drain(services.sources.get(source.name)!.sync, {
      budgetMs: 30_000,
      concurrency: 1,
      idlePollMs: 20,
      untilIdle: true,
    });
  });

  it("Redis refusing connections: the queue's circuit opens and then fails fast; the status route answers 503", async () => {
    const circuits = createCircuits(CIRCUIT, silentLogger);
    const unreachable = connectRedis(`redis://127.0.0.1:${await freePort()}`, { commandTimeoutMs: 1000 });
    unreachable.on("error", () => undefined);
    try {
      const guarded = guardQueue(createQueue(unreachable, { prefix: "down" }).forSource("s"), circuits.redis, {
        initialDelayMs: 10,
      });
      for (let i = 0; i < CIRCUIT.failureThreshold; i++) {
        await expect(guarded.claim({ max: 1, leaseMs: 1000, now: Date.now() })).rejects.toMatchObject({
          code: "redis_unavailable",
        });
      }
      expect(circuits.states().redis).toBe("open");
      const started = performance.now();
      await expect(guarded.stats(Date.now())).rejects.toBeInstanceOf(DependencyPause);
      // Fast: without the open circuit the call would wait out the 1 s command timeout. The bound
      // stays under that, with room for a loaded machine.
      expect(performance.now() - started).toBeLessThan(900);

      const api = {
        ...services,
        sources: new Map([["s", { config: source.config.sources[0]!, queue: guarded }]]),
        circuitStates: () => circuits.states(),
      };
      const response = await invokeRoute(routeNamed("status"), api, {
        method: "GET",
        params: {},
        query: new URLSearchParams(),
        body: "",
      });
      expect(response).toEqual({
        status: 503,
        body: { error: { code: "redis_unavailable", message: expect.any(String) } },
      });
    } finally {
      unreachable.disconnect();
    }
  });

  it("the status route shows each dependency's circuit", async () => {
    const response = await invokeRoute(routeNamed("status"), services, {
      method: "GET",
      params: {},
      query: new URLSearchParams(),
      body: "",
    });
    expect(response.body).toMatchObject({ circuits: { cosmos: "closed", elasticsearch: "closed", redis: "closed" } });
  });
});
