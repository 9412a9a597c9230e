import { ChangeFeedStartFrom, PartitionKeyBuilder, type FeedRange } from "@azure/cosmos";
import { Redis } from "ioredis";
import { splitPartitionKeyRange } from "../../scripts/stack/cosmos-split.js";
import { afterEach, describe, expect, it } from "vitest";
import { createServices } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { services as testServices } from "../setup/services.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

/**
 * Worker-mode change capture against the emulator's change feed (made honest by the patch in
 * patches/): no key is enqueued by hand in these tests.
 */
describe("change capture in worker mode", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function prepare(env: Record<string, string> = {}) {
    const source = await createTestSource({
      extra: { softDeleteField: "isDeleted" },
      env: { CAPTURE_START_FROM: "beginning", CAPTURE_POLL_MS: "100", CAPTURE_LEASE_MS: "3000", ...env },
    });
    const services = createServices(source.config, silentLogger);
    cleanups.push(
      () => source.dispose(),
      () => services.close(),
    );
    await services.ensureIndexes();
    return { source, services };
  }
  const worker = (source: TestSource, env: Record<string, string> = {}): WorkerProcess => {
    const process = spawnWorker("capture", { ...source.env, CAPTURE_ENABLED: "true", ...env });
    cleanups.push(() => process.kill());
    return process;
  };
  const converged = (source: TestSource, timeoutMs = 60_000) =>
    eventually(async () => expect(await differences(source, { softDeleteField: "isDeleted" })).toEqual([]), {
      timeoutMs,
      intervalMs: 300,
    });
  const write = async (source: TestSource, from: number, to: number, title: string) => {
    for (let i = from; i < to; i++)
      await source.container.items.upsert({ id: `d${i}`, tenant: `t${i % 3}`, title: `${title} ${i}`, n: i });
  };

  it("creates, updates and soft deletes reach the index by themselves", async () => {
    const { source } = await prepare();
    worker(source);
    await write(source, 0, 100, "created");
    await converged(source);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the next writes get a later _ts
    await write(source, 0, 40, "updated");
    for (let i = 40; i < 50; i++)
      await source.container.items.upsert({
        id: `d${i}`,
        tenant: `t${i % 3}`,
        title: `gone ${i}`,
        n: i,
        isDeleted: true,
      });
    await converged(source);
    const indexed = await source.indexed();
    expect(indexed.size).toBe(90);
    expect(indexed.get("d7")?.source.title).toBe("updated 7");
  });

  it("in all-versions-and-deletes mode, hard deletes leave the index within seconds, with no reconcile", async () => {
    const { source } = await prepare({ CAPTURE_MODE: "allVersionsAndDeletes", CAPTURE_START_FROM: "now" });
    worker(source);
    // The mode reads from "now" only: once a first document arrives, the reader is in place.
    await eventually(
      async () => {
        await source.container.items.upsert({ id: "probe", tenant: "t0", title: "probe", n: -1 });
        expect((await source.indexed()).has("probe")).toBe(true);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await write(source, 0, 30, "created");
    await converged(source);
    const deletedAt = Date.now();
    for (let i = 0; i < 10; i++) await source.container.item(`d${i}`, `t${i % 3}`).delete();
    await source.container.item("probe", "t0").delete();
    await converged(source, 30_000);
    const seconds = (Date.now() - deletedAt) / 1000;
    console.log(`[capture allVersionsAndDeletes] 11 hard deletes reached the index in ${seconds.toFixed(1)} s`);
    const indexed = await source.indexed();
    expect(indexed.size).toBe(20);
    expect(indexed.has("d0")).toBe(false);
    expect(seconds).toBeLessThan(15);
  });

  it("documents without their partition key (Cosmos's None partition) are indexed and deleted apart from null ones", async () => {
    const source = await createTestSource({
      extra: { documentId: "partitionKeyAndId" },
      env: { CAPTURE_MODE: "allVersionsAndDeletes", CAPTURE_START_FROM: "now", CAPTURE_POLL_MS: "100" },
    });
    const services = createServices(source.config, silentLogger);
    cleanups.push(
      () => source.dispose(),
      () => services.close(),
    );
    await services.ensureIndexes();
    worker(source);
    await eventually(
      async () => {
        await source.container.items.upsert({ id: "probe", tenant: "t0", title: "probe" });
        expect((await source.indexed()).has('"t0":probe')).toBe(true);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // One id in three partitions: "t", null, and None (no tenant property at all).
    await source.container.items.create({ id: "n", tenant: "t", title: "in t" });
    await source.container.items.create({ id: "n", tenant: null, title: "in null" });
    await source.container.items.create({ id: "n", title: "in none" });
    const titles = async () =>
      Object.fromEntries(
        [...(await source.indexed())]
          .filter(([id]) => id.endsWith(":n"))
          .map(([id, entry]) => [id, entry.source.title]),
      );
    await eventually(
      async () => expect(await titles()).toEqual({ '"t":n': "in t", "null:n": "in null", "{}:n": "in none" }),
      { timeoutMs: 30_000, intervalMs: 300 },
    );

    const none = new PartitionKeyBuilder().addNoneValue().build();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the update gets a later _ts
    await source.container.item("n", none).replace({ id: "n", title: "none updated" });
    await source.container.item("n", null).delete();
    await eventually(async () => expect(await titles()).toEqual({ '"t":n': "in t", "{}:n": "none updated" }), {
      timeoutMs: 30_000,
      intervalMs: 300,
    });
    await source.container.item("n", none).delete();
    await eventually(async () => expect(await titles()).toEqual({ '"t":n': "in t" }), {
      timeoutMs: 30_000,
      intervalMs: 300,
    });
    expect((await services.sources.get(source.name)!.queue.stats(Date.now())).deadLettered).toBe(0);
  });

  it("a document whose partition key is an object is dead-lettered with its reason and the feed goes on past it", async () => {
    const { source, services } = await prepare();
    worker(source);
    await write(source, 0, 10, "before");
    await source.container.items.upsert({ id: "bad-key", tenant: { region: "eu" }, title: "unusable", n: -1 });
    await write(source, 10, 20, "after");
    // Everything written after the bad document arrives: its page was not retried forever.
    await eventually(async () => expect((await source.indexed()).size).toBe(20), {
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    const queue = services.sources.get(source.name)!.queue;
    expect(await queue.listDeadLetters()).toEqual([
      expect.objectContaining({
        key: { id: "bad-key", pk: { invalid: "partition key at /tenant is an object" } },
        reason: "partition key at /tenant is an object",
        attempts: 0,
      }),
    ]);
    // Later changes keep coming through.
    await write(source, 20, 25, "later");
    await eventually(async () => expect((await source.indexed()).size).toBe(25), {
      timeoutMs: 30_000,
      intervalMs: 300,
    });
    expect((await queue.stats(Date.now())).deadLettered).toBe(1);
  }, 120_000);

  it("a worker killed and restarted resumes from its checkpoint and misses nothing", async () => {
    const { source } = await prepare();
    const first = worker(source);
    await write(source, 0, 150, "before");
    await eventually(async () => expect((await source.indexed()).size).toBeGreaterThan(20), { timeoutMs: 60_000 });
    await first.kill();
    await write(source, 150, 300, "while down");
    await write(source, 0, 30, "changed while down");
    // Restarted with "start from now": only the saved checkpoint can bring back what changed
    // while no reader ran.
    worker(source, { CAPTURE_START_FROM: "now" });
    await converged(source);
    expect((await source.indexed()).size).toBe(300);
  }, 120_000);

  it("per-range checkpoints of an earlier version are merged, a split parent's winning over its children's", async () => {
    const { source, services } = await prepare();
    const container = source.container;
    const range = (r: FeedRange) => `${r.minInclusive}-${r.maxExclusive}`;
    // Batch A: captured by the earlier version, which kept one continuation per feed range under
    // its boundaries (its keys are enqueued here, as it did).
    await write(source, 0, 60, "a");
    const perRange = new Map<string, string>();
    for (const feedRange of await container.getFeedRanges()) {
      const iterator = container.items.getChangeFeedIterator({
        changeFeedStartFrom: ChangeFeedStartFrom.Beginning(feedRange),
      });
      let token = "";
      for (let page = await iterator.readNext(); ; page = await iterator.readNext()) {
        token = page.continuationToken;
        if (page.statusCode === 304) break;
      }
      perRange.set(range(feedRange), token);
    }
    const queue = services.sources.get(source.name)!.queue;
    await queue.enqueue(
      Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, pk: `t${i % 3}` })),
      { lane: "live", now: Date.now() },
    );
    // Batch B after those checkpoints; then a split, after which that version started the children
    // "from now" (the loss this version fixes); then batch C.
    await write(source, 60, 120, "b");
    const { children } = await splitPartitionKeyRange(testServices().cosmos, {
      database: "driftless-test",
      container: container.id,
    });
    for (const child of children) {
      const feedRange = (await container.getFeedRanges()).find((r) => r.minInclusive === child.minInclusive)!;
      perRange.set(
        range(feedRange),
        (
          await container.items
            .getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Now(feedRange) })
            .readNext()
        ).continuationToken,
      );
    }
    await write(source, 120, 150, "c");
    const redis = new Redis(source.env.REDIS_URL!);
    cleanups.push(() => redis.quit());
    const base = `${source.env.REDIS_KEY_PREFIX}:{${source.name}}:capture`;
    await redis.hset(`${base}:checkpoints`, Object.fromEntries(perRange));

    worker(source, { CAPTURE_START_FROM: "now" });
    await converged(source);
    expect((await source.indexed()).size).toBe(150);
    expect(await redis.exists(`${base}:checkpoints`)).toBe(0);
    expect(JSON.parse((await redis.get(`${base}:continuation`))!)).toMatchObject({ Continuation: expect.any(Array) });
  }, 120_000);

  it("a second worker takes over the change feed when the first dies", async () => {
    const { source } = await prepare();
    const first = worker(source);
    await write(source, 0, 50, "one");
    await converged(source);
    const second = worker(source, { CAPTURE_START_FROM: "now" });
    // The second stands by while the first holds the lease; then the first dies.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await first.kill();
    const killedAt = Date.now();
    await write(source, 50, 120, "two");
    await converged(source);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    expect((await source.indexed()).size).toBe(120);
    expect(second.child.exitCode).toBeNull();
  });
});
