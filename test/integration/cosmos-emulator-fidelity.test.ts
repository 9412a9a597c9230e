import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ChangeFeedMode,
  ChangeFeedStartFrom,
  CosmosClient,
  PartitionKeyBuilder,
  PartitionKeyDefinitionVersion,
  PartitionKeyKind,
  type Container,
  type Database,
} from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startCosmosEmulator,
  type CosmosEmulatorHandle,
  type CosmosEmulatorOptions,
} from "../../scripts/stack/cosmos.js";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { createCosmosReader } from "../../shared/cosmos/reader.js";
import { services, uniqueName } from "../setup/services.js";

/**
 * The behaviours of Cosmos DB that driftless's guarantees rest on, pinned against the emulator
 * (patches/@vercel+cosmosdb-server+1.0.1.patch) through the real @azure/cosmos SDK. Each one is a
 * place where the unpatched emulator was kinder than the service; the patch cites the service's
 * documentation for each.
 */

let client: CosmosClient;
let database: Database;
const created: Container[] = [];

beforeAll(async () => {
  const { endpoint, key, caFile } = services().cosmos;
  client = createCosmosClient({ endpoint, key, ...(caFile === null ? {} : { caFile }) });
  ({ database } = await client.databases.createIfNotExists({ id: "driftless-test" }));
});

afterAll(async () => {
  await Promise.all(created.map((container) => container.delete().catch(() => undefined)));
  client?.dispose();
});

async function container(
  partitionKey: { paths: string[]; kind?: PartitionKeyKind; version?: PartitionKeyDefinitionVersion } | undefined,
): Promise<Container> {
  const { container: made } = await database.containers.createIfNotExists({
    id: uniqueName("fidelity"),
    ...(partitionKey ? { partitionKey } : {}),
  });
  created.push(made);
  return made;
}

const NONE = new PartitionKeyBuilder().addNoneValue().build();

describe("404 sub-status codes", () => {
  it("answers a missing document with sub-status 0 and a missing container or database with 1003", async () => {
    const present = await container({ paths: ["/tenant"] });
    const missingItem = await present.item("nope", "t").read();
    expect({ status: missingItem.statusCode, substatus: missingItem.substatus ?? 0 }).toEqual({
      status: 404,
      substatus: 0,
    });

    // The SDK answers a point read's 404 without throwing; the sub-status is on the response.
    const noContainer = database.container(uniqueName("never-created"));
    const inMissingContainer = await noContainer.item("a", "t").read();
    expect({ status: inMissingContainer.statusCode, substatus: inMissingContainer.substatus }).toEqual({
      status: 404,
      substatus: 1003,
    });
    const inMissingDatabase = await client.database(uniqueName("no-db")).container("c").item("a", "t").read();
    expect({ status: inMissingDatabase.statusCode, substatus: inMissingDatabase.substatus }).toEqual({
      status: 404,
      substatus: 1003,
    });
    // A bulk read against a missing container fails as a whole with the same 1003.
    await expect(noContainer.items.bulk([{ operationType: "Read", id: "a", partitionKey: "t" }])).rejects.toMatchObject(
      { code: 404, substatus: 1003 },
    );
  });
});

describe("partition keys", () => {
  it("keeps a document without its partition key property (None) apart from one whose property is null", async () => {
    const c = await container({ paths: ["/tenant"] });
    await c.items.create({ id: "n", tenant: null, which: "null" });
    await c.items.create({ id: "n", which: "none" });
    expect((await c.item("n", null).read()).resource).toMatchObject({ which: "null" });
    expect((await c.item("n", NONE).read()).resource).toMatchObject({ which: "none" });
    await c.item("n", NONE).delete();
    expect((await c.item("n", NONE).read()).statusCode).toBe(404);
    expect((await c.item("n", null).read()).resource).toMatchObject({ which: "null" });
    // Falsy values are partitions of their own too, never the id.
    await c.items.create({ id: "z", tenant: "" });
    expect((await c.item("z", "").read()).statusCode).toBe(200);
    expect((await c.item("z", "z").read()).statusCode).toBe(404);
  });

  it("keys a hierarchical container by every level: one id under two full keys", async () => {
    const c = await container({
      paths: ["/a", "/b"],
      kind: PartitionKeyKind.MultiHash,
      version: PartitionKeyDefinitionVersion.V2,
    });
    await c.items.create({ id: "x", a: "1", b: "p", v: "p" });
    await c.items.create({ id: "x", a: "1", b: "q", v: "q" });
    expect((await c.item("x", ["1", "p"]).read()).resource).toMatchObject({ v: "p" });
    expect((await c.item("x", ["1", "q"]).read()).resource).toMatchObject({ v: "q" });
    await expect(c.items.create({ id: "x", a: "1", b: "q" })).rejects.toMatchObject({ code: 409 });
  });

  it("serves a container created without a partition key (the SDK's /_partitionKey) by its None value", async () => {
    const c = await container(undefined);
    await c.items.create({ id: "k", v: 1 });
    const replaced = await c.item("k", NONE).replace({ id: "k", v: 2 });
    expect(replaced.statusCode).toBe(200);
    expect((await c.item("k", NONE).read()).resource).toMatchObject({ v: 2 });
  });

  it("names partition key ranges with strings, as the service does", async () => {
    const c = await container({ paths: ["/tenant"] });
    const { resources } = await c.readPartitionKeyRanges().fetchAll();
    expect(resources.length).toBeGreaterThan(0);
    for (const range of resources) expect(range.id).toMatch(/^\d+$/);
  });
});

describe("_lsn", () => {
  it("appears on change feed items only, never on writes, point reads, queries or the read feed", async () => {
    const c = await container({ paths: ["/tenant"] });
    const { resource: written } = await c.items.create({ id: "a", tenant: "t" });
    expect(written).not.toHaveProperty("_lsn");
    expect((await c.item("a", "t").read()).resource).not.toHaveProperty("_lsn");
    const { resources: queried } = await c.items.query("SELECT * FROM c").fetchAll();
    const { resources: all } = await c.items.readAll().fetchAll();
    for (const doc of [...queried, ...all]) expect(doc).not.toHaveProperty("_lsn");
    const feed = await c.items
      .getChangeFeedIterator<{ _lsn: number }>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() })
      .readNext();
    expect(feed.result[0]?._lsn).toEqual(expect.any(Number));
  });
});

describe("all versions and deletes change feed", () => {
  it("gives every create, replace and delete in order, with the service's metadata", async () => {
    const c = await container({ paths: ["/tenant"] });
    const iterator = c.items.getChangeFeedIterator<Record<string, unknown>>({
      changeFeedStartFrom: ChangeFeedStartFrom.Now(),
      changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
    });
    expect((await iterator.readNext()).statusCode).toBe(304);
    await c.items.create({ id: "a", tenant: "t", v: 1 });
    await c.items.upsert({ id: "a", tenant: "t", v: 2 });
    await c.item("a", "t").delete();
    await c.items.create({ id: "b", v: 1 });
    await c.item("b", NONE).delete();

    // "t" and None may hash to different partition key ranges, which the SDK reads one page at a
    // time: the order holds within a partition key, not across them ("Sort order of items in
    // change feed", https://learn.microsoft.com/azure/cosmos-db/change-feed).
    type Change = { current?: Record<string, unknown>; metadata: Record<string, unknown> };
    const changes: Change[] = [];
    for (let page = await iterator.readNext(); page.statusCode === 200; page = await iterator.readNext())
      changes.push(...(page.result as unknown as Change[]));
    const idOf = (change: Change) => change.current?.id ?? change.metadata.id;
    const [created, replaced, deleted] = changes.filter((change) => idOf(change) === "a");
    const [createdNone, deletedNone] = changes.filter((change) => idOf(change) === "b");
    expect(created).toMatchObject({
      current: { id: "a", v: 1 },
      metadata: { operationType: "create", lsn: expect.any(Number), crts: expect.any(Number) },
    });
    expect(replaced).toMatchObject({
      current: { id: "a", v: 2 },
      metadata: { operationType: "replace", previousImageLSN: created!.metadata.lsn },
    });
    expect(deleted).not.toHaveProperty("current");
    // A delete names the item by id and by partition key property name (not path).
    expect(deleted!.metadata).toMatchObject({
      operationType: "delete",
      id: "a",
      partitionKey: { tenant: "t" },
      previousImageLSN: replaced!.metadata.lsn,
      timeToLiveExpired: false,
    });
    expect(createdNone).toMatchObject({ current: { id: "b" }, metadata: { operationType: "create" } });
    expect(deletedNone!.metadata).toMatchObject({ operationType: "delete", id: "b", partitionKey: {} });
    expect(changes).toHaveLength(5);
    for (const id of ["a", "b"]) {
      const lsns = changes.filter((change) => idOf(change) === id).map((change) => change.metadata.lsn as number);
      expect(lsns).toEqual([...lsns].sort((x, y) => x - y));
    }
  });

  it("names every level of a hierarchical key in a delete's metadata", async () => {
    const c = await container({
      paths: ["/tenant", "/region"],
      kind: PartitionKeyKind.MultiHash,
      version: PartitionKeyDefinitionVersion.V2,
    });
    const iterator = c.items.getChangeFeedIterator<Record<string, unknown>>({
      changeFeedStartFrom: ChangeFeedStartFrom.Now(),
      changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
    });
    await iterator.readNext();
    await c.items.create({ id: "h", tenant: "t", region: "eu" });
    await c.item("h", ["t", "eu"]).delete();
    const page = await iterator.readNext();
    expect(page.result.at(-1)).toMatchObject({
      metadata: { operationType: "delete", id: "h", partitionKey: { tenant: "t", region: "eu" } },
    });
  });
});

describe("throttling", () => {
  const emulator = throttledEmulator({ every: 2, retryAfterMs: 5 });

  it("answers 429 with sub-status 3200 and a retry-after; the SDK's own retries hide it", async () => {
    const patient = createCosmosClient(emulator());
    try {
      const c = await throttledContainer(patient);
      for (let n = 0; n < 6; n++) await c.items.create({ id: `d${n}`, tenant: "t" });
      const reads = await Promise.all(Array.from({ length: 6 }, (_, n) => c.item(`d${n}`, "t").read()));
      expect(reads.map((read) => read.statusCode)).toEqual(Array(6).fill(200));
      expect(
        reads.some((read) => read.diagnostics.clientSideRequestStatistics.retryDiagnostics.failedAttempts.length > 0),
      ).toBe(true);

      // Without retries the 429 itself shows, with what the service sends.
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, (_, n) => readOnce(emulator(), `d${n}`)));
      const refused = outcomes
        .filter((outcome) => outcome.status === "rejected")
        .map((outcome) => (outcome as PromiseRejectedResult).reason);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]).toMatchObject({ code: 429, substatus: 3200, retryAfterInMs: 5 });
    } finally {
      patient.dispose();
    }
  });
});

describe("throttling by time", () => {
  const emulator = throttledEmulator({ periodMs: 1000, forMs: 500, retryAfterMs: 5 });

  it("refuses every document request in the first part of each period of the clock, and none in the rest", async () => {
    const patient = createCosmosClient(emulator());
    const hasty = clientWithoutRetries(emulator());
    try {
      const c = await throttledContainer(patient);
      await atPhase(600);
      await c.items.upsert({ id: "d0", tenant: "t" });
      const read = () => hasty.database("throttled").container("c").item("d0", "t").read();
      // The first read also fetches the account and the container; after it, one request each.
      await atPhase(600);
      await read();
      for (let round = 0; round < 3; round++) {
        await atPhase(100);
        await expect(read()).rejects.toMatchObject({ code: 429, substatus: 3200, retryAfterInMs: 5 });
        await atPhase(700);
        expect((await read()).statusCode).toBe(200);
      }
    } finally {
      patient.dispose();
      hasty.dispose();
    }
  });
});

describe("throttling per operation of a bulk request", () => {
  const emulator = throttledEmulator({ bulkOpsServed: 4, retryAfterMs: 7 });

  it("serves the first operations of a bulk request and answers the rest 429 in the same response", async () => {
    const client = createCosmosClient(emulator());
    try {
      const c = await throttledContainer(client);
      // Point writes are not bulk requests: all of them go through.
      for (let n = 0; n < 10; n++) await c.items.upsert({ id: `d${n}`, tenant: "t" });
      const answers = await c.items.bulk(
        Array.from({ length: 10 }, (_, n) => ({ operationType: "Read" as const, id: `d${n}`, partitionKey: "t" })),
        { continueOnError: true },
      );
      expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
      // The fields Cosmos DB sends with a throttled operation, which @azure/cosmos's bulk path reads.
      expect(answers[4]).toMatchObject({ subStatusCode: 3200, retryAfterMilliseconds: 7 });

      // The driftless reader passes them on, so the sync releases those keys and waits as asked.
      const reader = createCosmosReader(client, { database: "throttled", container: "c" });
      const results = await reader.read(
        Array.from({ length: 6 }, (_, n) => ({ member: `m${n}`, key: { id: `d${n}`, pk: "t" } })),
      );
      expect(results.slice(0, 4).every((result) => "found" in result && result.found)).toBe(true);
      expect(results[4]).toMatchObject({ statusCode: 429, subStatusCode: 3200, retryAfterMs: 7 });
    } finally {
      client.dispose();
    }
  });
});

/** An emulator of the enclosing describe's own, throttling as asked, started before its tests and stopped after them. */
function throttledEmulator(throttle: NonNullable<CosmosEmulatorOptions["throttle"]>): () => CosmosEmulatorHandle {
  let dir: string | undefined;
  let emulator: CosmosEmulatorHandle | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-throttled-"));
    emulator = await startCosmosEmulator({ dir, throttle });
  });
  afterAll(async () => {
    await emulator?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => emulator ?? fail("the throttled emulator has not started");
}

/** The throttling tests' container, `throttled`/`c`, partitioned by /tenant. */
async function throttledContainer(client: CosmosClient): Promise<Container> {
  const { database } = await client.databases.createIfNotExists({ id: "throttled" });
  const { container } = await database.containers.createIfNotExists({ id: "c", partitionKey: { paths: ["/tenant"] } });
  return container;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Waits until the clock is `ms` into a second (the emulator's throttling period here is 1000 ms). */
async function atPhase(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, (ms - (Date.now() % 1000) + 1000) % 1000));
}

/** One read with the SDK's throttling retries off. */
async function readOnce(emulator: { endpoint: string; key: string; caFile: string }, id: string) {
  const client = clientWithoutRetries(emulator);
  try {
    return await client.database("throttled").container("c").item(id, "t").read();
  } finally {
    client.dispose();
  }
}

/** A client that shows a 429 as it comes, without the SDK's own retries. */
function clientWithoutRetries(emulator: { endpoint: string; key: string; caFile: string }): CosmosClient {
  return new CosmosClient({
    endpoint: emulator.endpoint,
    key: emulator.key,
    agent: new Agent({ ca: readFileSync(emulator.caFile) }),
    connectionPolicy: {
      retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 0 },
    },
  });
}
