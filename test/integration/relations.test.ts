import { createServer, connect, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { Container } from "@azure/cosmos";
import { afterEach, describe, expect, it } from "vitest";
import { createCaptureStore } from "../../shared/capture/capture-store.js";
import { relationCaptureName } from "../../shared/capture/relations.js";
import { runJobLoop } from "../../shared/jobs/loop.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices } from "../../shared/runtime/services.js";
import { startCapture } from "../../shared/runtime/start-capture.js";
import { syncBatch } from "../../shared/sync/engine.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import type { RelatedReader } from "../../shared/sync/ports.js";
import { createLogger, silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { services as testStack, uniqueName } from "../setup/services.js";
import { spawnWorker } from "../setup/worker-process.js";

const MODULE = fileURLToPath(new URL("../fixtures/transforms/orders-with-customer.js", import.meta.url));

interface Fixture {
  source: TestSource;
  customers: Container;
  customersName: string;
}

/**
 * A source of orders whose transform embeds each order's customer (relation "customer", foreign
 * key customerId) from a customers container, against the real emulator, Elasticsearch and
 * Redis: the embedded name follows the customer, in worker mode through the capture of the
 * customers container, with the dependents found by a Cosmos query and through the index.
 */
describe("relations", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  async function prepare(
    dependents: { via: "query" } | { via: "index"; field: string },
    env: Record<string, string> = {},
  ): Promise<Fixture> {
    const customersName = uniqueName("customers").replace(/[^a-z0-9_-]/g, "");
    const source = await createTestSource({
      extra: {
        mapping: {
          properties: {
            tenant: { type: "keyword" },
            customerId: { type: "keyword" },
            customer: { properties: { id: { type: "keyword" }, name: { type: "keyword" } } },
          },
        },
        transform: { module: MODULE },
        relations: [{ name: "customer", container: customersName, foreignKey: "customerId", dependents }],
      },
      env: { CAPTURE_POLL_MS: "100", CAPTURE_LEASE_MS: "3000", ...env },
    });
    cleanups.push(() => source.dispose());
    const { container: customers } = await source.container.database.containers.createIfNotExists({
      id: customersName,
      partitionKey: { paths: ["/id"] },
    });
    cleanups.push(() => customers.delete());
    return { source, customers, customersName };
  }

  /** Customers c0…c{n-1} named "Customer i", then orders o0…o{m-1}, order i for customer c(i mod n). */
  async function writeShop({ source, customers }: Fixture, customerCount: number, orderCount: number) {
    for (let c = 0; c < customerCount; c++) await customers.items.upsert({ id: `c${c}`, name: `Customer ${c}` });
    for (let start = 0; start < orderCount; start += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, orderCount - start) }, (_, k) => {
          const i = start + k;
          return source.container.items.upsert({
            id: `o${i}`,
            tenant: `t${i % 4}`,
            customerId: `c${i % customerCount}`,
            title: `order ${i}`,
          });
        }),
      );
    }
  }

  /** Each indexed order's embedded customer name (null when the customer is gone) and sequence number. */
  async function indexedOrders(source: TestSource) {
    const alias = source.config.sources[0]!.index;
    await source.elastic.indices.refresh({ index: alias });
    const result = await source.elastic.search<{ customerId: string; customer: { name?: string } }>({
      index: alias,
      size: 1000,
      seq_no_primary_term: true,
    });
    return new Map(
      result.hits.hits.map((hit) => [
        hit._id!,
        { customerId: hit._source!.customerId, name: hit._source!.customer?.name ?? null, seqNo: hit._seq_no! },
      ]),
    );
  }

  /** Every order of the index embeds the name of its customer, "Customer i" for ci. */
  async function checkNames(source: TestSource, orderCount: number) {
    const orders = await indexedOrders(source);
    expect(orders.size).toBe(orderCount);
    const wrong = [...orders].filter(([, order]) => order.name !== `Customer ${order.customerId.slice(1)}`);
    expect(wrong.map(([id, order]) => `${id}: ${order.name}`)).toEqual([]);
  }
  const namesAre = (source: TestSource, orderCount: number) =>
    eventually(() => checkNames(source, orderCount), { timeoutMs: 90_000, intervalMs: 500 });

  /**
   * Waits until no order is written any more (every _seq_no the same 1.5 s apart): the capture of
   * the customers also read their creations, and enqueued their orders again.
   */
  const settled = (source: TestSource) =>
    eventually(
      async () => {
        const before = await indexedOrders(source);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(await indexedOrders(source)).toEqual(before);
        return before;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

  /** Polls until exactly the 20 orders of `customerId` show `name`; returns the seconds it took. */
  async function followed(source: TestSource, customerId: string, name: string | null, since: number) {
    await eventually(
      async () => {
        const orders = [...(await indexedOrders(source)).values()].filter((order) => order.customerId === customerId);
        expect(orders).toHaveLength(20);
        expect(orders.filter((order) => order.name === name)).toHaveLength(20);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return (Date.now() - since) / 1000;
  }

  /** The orders of other customers kept their name and were not written again (same _seq_no). */
  function untouched(
    before: Map<string, { customerId: string; name: string | null; seqNo: number }>,
    after: Map<string, { customerId: string; name: string | null; seqNo: number }>,
    changed: readonly string[],
  ) {
    const others = [...before].filter(([, order]) => !changed.includes(order.customerId));
    expect(others.length).toBeGreaterThan(0);
    for (const [id, order] of others) expect(after.get(id)).toEqual(order);
  }

  it("worker mode, dependents by Cosmos query: a renamed customer's 20 orders (of 200) follow within seconds, no other order is rewritten", async () => {
    const fixture = await prepare({ via: "query" }, { CAPTURE_START_FROM: "beginning" });
    const { source, customers } = fixture;
    await writeShop(fixture, 10, 200);
    const worker = spawnWorker("relations", { ...source.env, CAPTURE_ENABLED: "true" });
    cleanups.push(() => worker.kill());
    await namesAre(source, 200);
    const before = await settled(source);

    const renamedAt = Date.now();
    await customers.items.upsert({ id: "c3", name: "Grace Renamed" });
    const seconds = await followed(source, "c3", "Grace Renamed", renamedAt);
    console.log(`[relations, query] 20 dependent orders of 200 showed the new name in ${seconds.toFixed(1)} s`);
    untouched(before, await indexedOrders(source), ["c3"]);
    // Its log lines are on stdout (stderr only ever had the process's own crash output).
    expect(worker.logs().length).toBeGreaterThan(0);
    expect(worker.logs().filter((line) => line["log.level"] === "error")).toEqual([]);
  }, 180_000);

  it("worker mode, all versions and deletes, dependents through the index: rename and delete of customers reach their orders", async () => {
    const fixture = await prepare(
      { via: "index", field: "customer.id" },
      { CAPTURE_MODE: "allVersionsAndDeletes", CAPTURE_START_FROM: "now" },
    );
    const { source, customers } = fixture;
    const worker = spawnWorker("relations", { ...source.env, CAPTURE_ENABLED: "true" });
    cleanups.push(() => worker.kill());
    // The mode reads from "now" only: once a probe order and a rename of its customer arrived, both readers are in place.
    await customers.items.upsert({ id: "probe", name: "probe" });
    await eventually(
      async () => {
        await source.container.items.upsert({ id: "probe", tenant: "t0", customerId: "probe", title: "probe" });
        expect((await indexedOrders(source)).get("probe")?.name).toBe("probe");
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await eventually(
      async () => {
        const name = `probe renamed ${Date.now()}`;
        await customers.items.upsert({ id: "probe", name });
        await eventually(async () => expect((await indexedOrders(source)).get("probe")?.name).toBe(name), {
          timeoutMs: 5000,
          intervalMs: 250,
        });
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await source.container.item("probe", "t0").delete();
    await writeShop(fixture, 10, 200);
    await namesAre(source, 200);
    const before = await settled(source);

    const renamedAt = Date.now();
    await customers.items.upsert({ id: "c7", name: "Ada Renamed" });
    const renamed = await followed(source, "c7", "Ada Renamed", renamedAt);
    const deletedAt = Date.now();
    await customers.item("c5", "c5").delete();
    const deleted = await followed(source, "c5", null, deletedAt);
    console.log(
      `[relations, index] 20 dependent orders of 200 followed a rename in ${renamed.toFixed(1)} s, a delete in ${deleted.toFixed(1)} s`,
    );
    untouched(before, await indexedOrders(source), ["c7", "c5"]);
  }, 240_000);

  it("reads the related documents once per batch: 100 orders over 10 customers are one read of 10 ids", async () => {
    const fixture = await prepare({ via: "query" });
    const { source } = fixture;
    const services = createServices(source.config, silentLogger);
    cleanups.push(() => services.close());
    await services.ensureIndexes();
    await writeShop(fixture, 10, 100);
    const runtime = services.sources.get(source.name)!;
    const reads: string[][] = [];
    const real = runtime.sync.related!;
    // The real Cosmos reader, counted: what the sync asks of it is the point.
    const counting: RelatedReader = {
      readByIds(container, ids) {
        reads.push([...ids]);
        return real.readByIds(container, ids);
      },
    };
    const keys = Array.from({ length: 100 }, (_, i) => ({ id: `o${i}`, pk: `t${i % 4}` }));
    await runtime.queue.enqueue(keys, { lane: "live", now: Date.now() });
    const report = await syncBatch({
      ...runtime.sync,
      related: counting,
      options: { ...runtime.sync.options, batchSize: 100 },
    });
    expect(report.claimed).toBe(100);
    expect(report.indexed).toBe(100);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.sort()).toEqual(Array.from({ length: 10 }, (_, c) => `c${c}`).sort());
    await checkNames(source, 100);
  }, 60_000);

  it("a rebuild embeds the related documents as they are when it reads each page, through the same transform", async () => {
    const fixture = await prepare({ via: "query" }, { REIMPORT_PAGE_SIZE: "40" });
    const { source, customers } = fixture;
    const services = createServices(source.config, silentLogger);
    cleanups.push(() => services.close());
    await services.ensureIndexes();
    await writeShop(fixture, 10, 100);
    const rebuild = async () => {
      const stop = new AbortController();
      const loop = runJobLoop(services.jobs, { pollMs: 50, logger: silentLogger, signal: stop.signal });
      try {
        let job: Job | undefined = await services.jobs.start("reimport", source.name, { mode: "rebuild" });
        while (job && !isTerminal(job.state)) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          job = await services.jobs.get(job.id);
        }
        expect(job?.state).toBe("succeeded");
      } finally {
        stop.abort();
        await loop;
      }
    };
    await rebuild();
    await checkNames(source, 100);
    // No capture runs here: only the next rebuild's read of the customers can bring the new name.
    await customers.items.upsert({ id: "c4", name: "Rebuilt Name" });
    await rebuild();
    const orders = [...(await indexedOrders(source)).values()];
    expect(orders.filter((order) => order.name === "Rebuilt Name").map((order) => order.customerId)).toEqual(
      Array.from({ length: 10 }, () => "c4"),
    );
    expect(
      orders.filter((order) => order.customerId !== "c4").every((order) => order.name?.startsWith("Customer ")),
    ).toBe(true);
  }, 180_000);

  it("a dependents lookup while Elasticsearch is unreachable keeps the capture's checkpoint, and the change lands once it is back", async () => {
    const proxy = await tcpProxy(testStack().elasticsearchUrl);
    cleanups.push(() => proxy.close());
    const fixture = await prepare(
      { via: "index", field: "customer.id" },
      {
        CAPTURE_START_FROM: "beginning",
        ELASTICSEARCH_URL: proxy.url,
        ELASTICSEARCH_REQUEST_TIMEOUT_MS: "2000",
      },
    );
    const { source, customers, customersName } = fixture;
    const lines: string[] = [];
    const services = createServices(source.config, createLogger("warn", { write: (line) => lines.push(line) }));
    cleanups.push(() => services.close());
    await services.ensureIndexes();
    await writeShop(fixture, 5, 100);
    const stop = new AbortController();
    const loops = startCapture(services, stop.signal);
    cleanups.push(async () => {
      stop.abort();
      await Promise.allSettled(loops);
    });
    const sync = () => runSyncPass(services, { budgetMs: 30_000, untilIdle: true });
    await eventually(
      async () => {
        await sync();
        await checkNames(source, 100);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const store = createCaptureStore(
      services.clients.redis,
      source.config.redis.keyPrefix,
      relationCaptureName({ database: "driftless-test", container: customersName }),
    );
    // The customers' capture has caught up (it read the creations, enqueued their orders, and saved).
    await eventually(async () => expect((await store.checkpoint()).continuation).toBeDefined(), { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const caughtUp = (await store.checkpoint()).continuation;
    const queue = services.sources.get(source.name)!.queue;
    await sync();
    expect((await queue.stats(Date.now())).pending).toBe(0);

    proxy.down();
    lines.length = 0;
    await customers.items.upsert({ id: "c2", name: "Renamed While Down" });
    // The capture reads the change and cannot find its dependents: it says so, and keeps its place.
    await eventually(async () => expect(lines.join("\n")).toMatch(/change feed reading failed/), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await store.checkpoint()).continuation).toBe(caughtUp);
    expect((await queue.stats(Date.now())).pending).toBe(0);

    proxy.up();
    await eventually(
      async () => {
        await sync();
        const orders = [...(await indexedOrders(source)).values()].filter((order) => order.customerId === "c2");
        expect(orders).toHaveLength(20);
        expect(orders.every((order) => order.name === "Renamed While Down")).toBe(true);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await store.checkpoint()).continuation).not.toBe(caughtUp);
  }, 180_000);
});

/**
 * A TCP proxy in front of Elasticsearch that the test can take down (connections refused and the
 * open ones cut) and bring back: an outage of the real server as the driftless process sees it.
 */
async function tcpProxy(target: string): Promise<{ url: string; down(): void; up(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let available = true;
  const server: Server = createServer((client) => {
    if (!available) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    down() {
      available = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    up() {
      available = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
