import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invokeRoute, routeNamed } from "../../shared/api/index.js";
import { DependencyError } from "../../shared/core/errors.js";
import { createBulkSink } from "../../shared/elastic/index.js";
import { queueKeys } from "../../shared/redis/keys.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { drain } from "../../shared/sync/drain.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

/**
 * Elasticsearch checks index privileges and write blocks per bulk item: a key without the `index`
 * privilege gets `403 security_exception` on every item, a write-blocked index `403
 * cluster_block_exception`. Security is off in the test cluster, so the write block stands in
 * for both: a real per-item 403 that no document can fix. The keys must be released like those
 * of a request refused as a whole (no attempt spent, nothing dead-lettered) and the circuit must
 * open, also when the batch holds a document that is bad on its own.
 */
describe("a per-item 403 from Elasticsearch (write-blocked index)", () => {
  let source: TestSource;
  let services: Services;
  let redis: Redis;
  const keys = Array.from({ length: 12 }, (_, i) => ({ id: `b${i}`, pk: `t${i % 3}` }));
  // `driftless` is the metadata field: the sink refuses this document before sending it (dead).
  const poison = keys[0]!;

  beforeAll(async () => {
    source = await createTestSource({
      env: {
        SYNC_BATCH_SIZE: "50",
        CIRCUIT_FAILURE_THRESHOLD: "2",
        CIRCUIT_HALF_OPEN_AFTER_MS: "200",
        CIRCUIT_HALF_OPEN_MAX_MS: "400",
      },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    redis = new Redis(source.env.REDIS_URL!);
    await Promise.all(
      keys.map((key, n) =>
        source.container.items.upsert({
          id: key.id,
          tenant: key.pk,
          title: `doc ${n}`,
          n,
          ...(key === poison ? { driftless: "mine" } : {}),
        }),
      ),
    );
  });

  afterAll(async () => {
    await block(false).catch(() => undefined);
    redis?.disconnect();
    await services?.close();
    await source?.dispose();
  });

  const alias = () => source.config.sources[0]!.index;
  const block = (on: boolean) =>
    source.elastic.indices.putSettings({ index: alias(), settings: { "index.blocks.write": on } });
  const attempts = () => redis.hlen(queueKeys(source.env.REDIS_KEY_PREFIX!, source.name).attempts);
  const queue = () => services.sources.get(source.name)!.queue;

  async function drainUntil(done: () => Promise<boolean>) {
    const stop = new AbortController();
    const running = drain(services.sources.get(source.name)!.sync, {
      budgetMs: 60_000,
      concurrency: 1,
      idlePollMs: 50,
      signal: stop.signal,
    });
    try {
      await eventually(async () => expect(await done()).toBe(true), { timeoutMs: 20_000, intervalMs: 100 });
    } finally {
      stop.abort();
      await running;
    }
  }

  it("the sink throws the refusal a whole request refused with 403 gets, instead of returning item outcomes", async () => {
    await block(true);
    try {
      const ops: SinkOp[] = ["x1", "x2"].map((id) => ({
        action: "index",
        member: JSON.stringify(["t", id]),
        id,
        version: 1,
        document: { title: id },
      }));
      const refused = await createBulkSink(services.clients.elastic)
        .write(alias(), ops)
        .then(
          (outcomes) => outcomes,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(DependencyError);
      expect(refused).toMatchObject({ dependency: "elasticsearch", statusCode: 403, retryable: false });
      expect((refused as Error).message).toMatch(
        /refused 2 of 2 writes .*403 cluster_block_exception: .*FORBIDDEN\/8\/index write/,
      );
    } finally {
      await block(false);
    }
  });

  it("releases every key without an attempt, opens the circuit, and syncs once the block is lifted", async () => {
    await block(true);
    await queue().enqueue(keys, { lane: "live", now: Date.now() });
    await drainUntil(async () => services.circuits.elasticsearch.state() === "open");

    expect(await queue().stats(Date.now())).toMatchObject({ pending: keys.length, inflight: 0, deadLettered: 0 });
    expect(await attempts()).toBe(0);
    const status = await invokeRoute(routeNamed("status"), services, {
      method: "GET",
      params: {},
      query: new URLSearchParams(),
      body: "",
    });
    expect(status.body).toMatchObject({ circuits: { elasticsearch: "open" } });

    await block(false);
    await drainUntil(async () => {
      const stats = await queue().stats(Date.now());
      return stats.pending === 0 && stats.inflight === 0;
    });
    expect(services.circuits.elasticsearch.state()).toBe("closed");
    // The poison document is dead-lettered for its own reason now that it is judged on its own.
    expect(await queue().stats(Date.now())).toMatchObject({ deadLettered: 1 });
    const indexed = await source.indexed();
    expect([...indexed.keys()].sort()).toEqual(
      keys
        .filter((key) => key !== poison)
        .map((key) => key.id)
        .sort(),
    );
  });
});
