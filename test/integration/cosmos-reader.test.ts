import type { BulkOptions, Container, CosmosClient, OperationInput, PartitionKey } from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { createCosmosReader } from "../../shared/cosmos/reader.js";
import type { ReadResult } from "../../shared/sync/ports.js";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

/**
 * The Cosmos reader against the emulator: bulk reads (grouped by partition, 100 per request, a
 * few requests in flight) give every key its own answer, in the caller's order, exactly as point
 * reads do; a bulk request that fails as a whole falls back to point reads for its keys.
 */
describe("cosmos reader", () => {
  let source: TestSource;
  let cosmos: CosmosClient;
  const stored = Array.from({ length: 230 }, (_, n) => ({ id: `d${n}`, tenant: `t${n % 7}`, title: `doc ${n}`, n }));
  // Present and missing keys interleaved across partitions, in no particular order.
  const keys: DocKey[] = [
    ...stored.map((doc) => ({ id: doc.id, pk: doc.tenant })),
    ...Array.from({ length: 25 }, (_, n) => ({ id: `missing${n}`, pk: `t${n % 4}` })),
  ]
    .map((key, i) => ({ key, order: (i * 7919) % 255 }))
    .sort((a, b) => a.order - b.order)
    .map(({ key }) => key);
  const request = keys.map((key) => ({ member: encodeKey(key), key }));

  beforeAll(async () => {
    source = await createTestSource();
    cosmos = createCosmosClient(source.config.cosmos);
    for (let i = 0; i < stored.length; i += 100)
      await source.container.items.bulk(
        stored.slice(i, i + 100).map((doc) => ({ operationType: "Create" as const, resourceBody: doc })),
      );
  });

  afterAll(async () => {
    cosmos?.dispose();
    await source?.dispose();
  });

  const location = () => source.config.sources[0]!;
  /** The client, but every container it opens is `container` (a proxy of the source's, with a fault or a probe). */
  const clientWith = (container: Container): CosmosClient =>
    new Proxy(cosmos, {
      get: (target, property, receiver) =>
        property === "database"
          ? () =>
              new Proxy(target.database(location().database), {
                get: (db, name, r) => (name === "container" ? () => container : Reflect.get(db, name, r)),
              })
          : Reflect.get(target, property, receiver),
    });
  const summary = (results: readonly ReadResult[]) =>
    results.map((result) =>
      "error" in result
        ? { member: result.member, error: true }
        : result.found
          ? { member: result.member, n: result.document.n }
          : { member: result.member, found: false },
    );

  it("bulk reads answer every key in order: found documents whole, missing ones as not found", async () => {
    const results = await createCosmosReader(cosmos, location()).read(request);
    expect(results.map((result) => result.member)).toEqual(request.map((item) => item.member));
    for (const [i, result] of results.entries()) {
      const key = keys[i]!;
      if (key.id.startsWith("missing")) expect(result).toEqual({ member: request[i]!.member, found: false });
      else
        expect(result).toMatchObject({
          found: true,
          document: { id: key.id, tenant: key.pk, n: Number(key.id.slice(1)), _ts: expect.any(Number) },
        });
    }
  });

  it("answers a small batch without waiting for more keys to arrive", async () => {
    // executeBulkOperations (@azure/cosmos 4.9) sleeps a fixed 1,000 ms before it sends a partial
    // batch, so no read of ten keys through it took less than a second; the best of three here is
    // a handful of milliseconds.
    const reader = createCosmosReader(cosmos, location());
    const few = request.slice(0, 10);
    const took: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      expect(await reader.read(few)).toHaveLength(10);
      took.push(performance.now() - started);
    }
    expect(Math.min(...took)).toBeLessThan(1000);
  });

  it("gives the same answers as point reads", async () => {
    const bulk = await createCosmosReader(cosmos, location(), { mode: "bulk", bulkConcurrency: 2 }).read(request);
    const point = await createCosmosReader(cosmos, location(), { mode: "point" }).read(request);
    expect(summary(bulk)).toEqual(summary(point));
  });

  it("falls back to point reads when a bulk request fails as a whole", async () => {
    // Fault injection: the SDK's bulk call throws, as it does when Cosmos refuses the request as a whole.
    let bulkCalls = 0;
    const failing = new Proxy(cosmos, {
      get(target, property, receiver) {
        if (property !== "database") return Reflect.get(target, property, receiver);
        return (id: string) => {
          const database = target.database(id);
          return new Proxy(database, {
            get(db, name, dbReceiver) {
              if (name !== "container") return Reflect.get(db, name, dbReceiver);
              return (containerId: string) => {
                const container = db.container(containerId);
                const items = new Proxy(container.items, {
                  get(its, key, itsReceiver) {
                    if (key !== "bulk") return Reflect.get(its, key, itsReceiver);
                    return async () => {
                      bulkCalls++;
                      throw new Error("Bulk request errored with: injected");
                    };
                  },
                });
                return new Proxy(container, { get: (c, key, r) => (key === "items" ? items : Reflect.get(c, key, r)) });
              };
            },
          });
        };
      },
    });
    const results = await createCosmosReader(failing, location()).read(request);
    expect(bulkCalls).toBe(Math.ceil(request.length / 100));
    expect(summary(results)).toEqual(
      summary(await createCosmosReader(cosmos, location(), { mode: "point" }).read(request)),
    );
  });
  it("reads on their own the keys whose batch the SDK reports failed as a whole (500), and keeps the others' answers", async () => {
    // Fault injection: the bulk call answers some keys with a 500, as for keys whose part of the request failed.
    const reread: string[] = [];
    const container = cosmos.database(location().database).container(location().container);
    const items = new Proxy(container.items, {
      get(its, key, receiver) {
        if (key !== "bulk") return Reflect.get(its, key, receiver);
        return async (operations: OperationInput[], options?: BulkOptions) => {
          const responses = await its.bulk(operations, options);
          return responses.map((response, i) => (i % 3 === 0 ? { statusCode: 500, requestCharge: 0 } : response));
        };
      },
    });
    const readItem = container.item.bind(container);
    const faulty = new Proxy(container, {
      get: (c, key, r) =>
        key === "items"
          ? items
          : key === "item"
            ? (id: string, pk: PartitionKey) => {
                reread.push(id);
                return readItem(id, pk);
              }
            : Reflect.get(c, key, r),
    });
    const results = await createCosmosReader(clientWith(faulty), location()).read(request);
    expect(results.filter((result) => "error" in result)).toEqual([]);
    expect(reread.length).toBeGreaterThan(0);
    expect(reread.length).toBeLessThan(request.length);
    expect(summary(results)).toEqual(
      summary(await createCosmosReader(cosmos, location(), { mode: "point" }).read(request)),
    );
  });

  it("prepares each document as its own request is answered, and returns what prepare made in its place", async () => {
    // The SDK's bulk calls counted: a document prepared while the count is still its request's
    // was prepared before the next request went out (one request in flight at a time here).
    let bulkCalls = 0;
    const container = cosmos.database(location().database).container(location().container);
    const items = new Proxy(container.items, {
      get(its, key, receiver) {
        if (key !== "bulk") return Reflect.get(its, key, receiver);
        return (operations: OperationInput[], options?: BulkOptions) => {
          bulkCalls++;
          return its.bulk(operations, options);
        };
      },
    });
    const counted = new Proxy(container, { get: (c, key, r) => (key === "items" ? items : Reflect.get(c, key, r)) });
    const preparedDuring: number[] = [];
    const prepare = (document: Record<string, unknown>, member: string) => {
      preparedDuring.push(bulkCalls);
      return { prepared: document.n, member };
    };

    const results = await createCosmosReader(clientWith(counted), location(), { bulkConcurrency: 1 }).read(
      request,
      prepare,
    );

    expect(bulkCalls).toBe(Math.ceil(request.length / 100));
    expect(preparedDuring).toHaveLength(stored.length);
    expect(preparedDuring.filter((calls) => calls === 1).length).toBeGreaterThan(0);
    expect(results.map((result) => result.member)).toEqual(request.map((item) => item.member));
    for (const result of results) {
      if ("found" in result && result.found)
        expect(result.document).toEqual({ prepared: expect.any(Number), member: result.member });
    }
    const point = await createCosmosReader(cosmos, location(), { mode: "point" }).read(request, prepare);
    expect(point.map((result) => ("found" in result && result.found ? result.document : result))).toEqual(
      results.map((result) => ("found" in result && result.found ? result.document : result)),
    );
  });
});
