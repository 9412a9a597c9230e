import {
  ChangeFeedMode,
  ChangeFeedStartFrom,
  type ChangeFeedIteratorResponse,
  type ChangeFeedPullModelIterator,
  type Container,
  type CosmosClient,
} from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { services, uniqueName } from "../setup/services.js";

/**
 * The emulator's change feed (patches/@vercel+cosmosdb-server+1.0.1.patch), driven through the
 * real @azure/cosmos pull model, the way the capture reader uses it.
 */

interface Doc {
  id: string;
  tenant: string;
  n: number;
  _lsn: number;
  _ts: number;
}

function newClient(): CosmosClient {
  const { endpoint, key, caFile } = services().cosmos;
  return createCosmosClient({ endpoint, key, ...(caFile === null ? {} : { caFile }) });
}

let client: CosmosClient;
const containers: Container[] = [];

beforeAll(() => {
  client = newClient();
});

afterAll(async () => {
  await Promise.all(containers.map((container) => container.delete().catch(() => undefined)));
  client.dispose();
});

async function freshContainer(): Promise<Container> {
  const { database } = await client.databases.createIfNotExists({ id: "driftless-test" });
  const { container } = await database.containers.createIfNotExists({
    id: uniqueName("cf"),
    partitionKey: { paths: ["/tenant"] },
  });
  containers.push(container);
  return container;
}

/** Creates docs one after another, so that their LSN order is the order given. */
async function createInOrder(container: Container, ids: readonly string[], tenant = "t1"): Promise<void> {
  for (const id of ids) await container.items.create({ id, tenant, n: 0 });
}

/** Reads pages until the feed answers 304; every page before must be a 200 with items. */
async function drain(
  iterator: ChangeFeedPullModelIterator<Doc>,
): Promise<{ pages: Doc[][]; caughtUp: ChangeFeedIteratorResponse<Doc[]> }> {
  const pages: Doc[][] = [];
  for (let i = 0; i < 1_000; i++) {
    const response = await iterator.readNext();
    if (response.statusCode === 304) return { pages, caughtUp: response };
    expect(response.statusCode).toBe(200);
    expect(response.result.length).toBeGreaterThan(0);
    expect(response.headers["x-ms-item-count"]).toBe(String(response.result.length));
    pages.push(response.result);
  }
  throw new Error("the change feed never caught up");
}

const ids = (docs: readonly Doc[]): string[] => docs.map((doc) => doc.id);

function expectIncreasingLsns(docs: readonly Doc[]): void {
  for (const doc of docs)
    expect(Number.isInteger(doc._lsn) && doc._lsn > 0, `${doc.id} has _lsn ${doc._lsn}`).toBe(true);
  const lsns = docs.map((doc) => doc._lsn);
  expect(lsns).toEqual([...lsns].sort((a, b) => a - b));
  expect(new Set(lsns).size).toBe(lsns.length);
}

/** Waits for the wall clock to enter a new second (document `_ts` has one-second resolution). */
async function nextSecond(): Promise<Date> {
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((resolve) => setTimeout(resolve, 20));
  return new Date((second + 1) * 1000);
}

describe("emulator change feed (latest version mode)", () => {
  it("returns creates, replaces, upserts and patches in modification order, each document once in its latest version", async () => {
    const container = await freshContainer();
    await createInOrder(container, ["a", "b", "c"]);
    await container.item("a", "t1").replace({ id: "a", tenant: "t1", n: 1 });
    await container.items.upsert({ id: "b", tenant: "t1", n: 1 });
    await container.items.upsert({ id: "d", tenant: "t1", n: 0 });
    await container.item("c", "t1").patch([{ op: "set", path: "/n", value: 1 }]);
    await container.item("a", "t1").replace({ id: "a", tenant: "t1", n: 2 });

    const { pages } = await drain(
      container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }),
    );
    const changes = pages.flat();
    expect(ids(changes)).toEqual(["b", "d", "c", "a"]);
    expect(changes.map((doc) => doc.n)).toEqual([1, 0, 1, 2]);
    expectIncreasingLsns(changes);
    for (const doc of changes) expect(doc._ts).toBeGreaterThan(0);

    // As in Cosmos DB, `_lsn` is on change feed items only: a point read has `_ts` and `_etag`, no `_lsn`.
    const { resource: a } = await container.item("a", "t1").read<Doc>();
    expect(a).toMatchObject({ id: "a", n: 2, _ts: expect.any(Number), _etag: expect.any(String) });
    expect(a).not.toHaveProperty("_lsn");
  });

  it("pages by maxItemCount, answers 304 with the same continuation when caught up, then serves new changes", async () => {
    const container = await freshContainer();
    await createInOrder(
      container,
      Array.from({ length: 25 }, (_, i) => `doc-${String(i).padStart(2, "0")}`),
    );
    const iterator = container.items.getChangeFeedIterator<Doc>({
      changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
      maxItemCount: 10,
    });

    const { pages, caughtUp } = await drain(iterator);
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(ids(pages.flat())).toEqual(Array.from({ length: 25 }, (_, i) => `doc-${String(i).padStart(2, "0")}`));
    expectIncreasingLsns(pages.flat());
    expect(caughtUp.result).toEqual([]);
    expect(caughtUp.headers.etag).toMatch(/^"\d+"$/);
    expect(iterator.hasMoreResults).toBe(true);

    const again = await iterator.readNext();
    expect(again.statusCode).toBe(304);
    expect(again.result).toEqual([]);
    expect(again.continuationToken).toBe(caughtUp.continuationToken);

    // t2 may lie in another partition key range than t1: the SDK then returns them on separate pages.
    await container.items.create({ id: "late", tenant: "t2", n: 0 });
    await container.item("doc-03", "t1").replace({ id: "doc-03", tenant: "t1", n: 7 });
    const fresh = (await drain(iterator)).pages.flat();
    expect(ids(fresh).sort()).toEqual(["doc-03", "late"]);
    expect(fresh.find((doc) => doc.id === "doc-03")?.n).toBe(7);
    for (const doc of fresh) expect(doc._lsn).toBeGreaterThan(pages.flat().at(-1)!._lsn);
    expect((await iterator.readNext()).statusCode).toBe(304);
  });

  it("Beginning() reads everything, Now() only what changes after its first read, Time(d) only what changed from d on", async () => {
    const container = await freshContainer();
    await createInOrder(container, ["old-1", "old-2"]);
    const boundary = await nextSecond();
    await createInOrder(container, ["mid-1"]);

    const now = container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Now() });
    const first = await now.readNext();
    expect(first.statusCode).toBe(304);
    expect(first.result).toEqual([]);

    await createInOrder(container, ["new-1"]);
    await container.item("old-1", "t1").replace({ id: "old-1", tenant: "t1", n: 1 });

    const beginning = await drain(
      container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }),
    );
    expect(ids(beginning.pages.flat())).toEqual(["old-2", "mid-1", "new-1", "old-1"]);

    const fromNow = await drain(now);
    expect(ids(fromNow.pages.flat())).toEqual(["new-1", "old-1"]);

    // Paged, so that the later pages carry both if-none-match and if-modified-since.
    const fromTime = await drain(
      container.items.getChangeFeedIterator<Doc>({
        changeFeedStartFrom: ChangeFeedStartFrom.Time(boundary),
        maxItemCount: 1,
      }),
    );
    expect(fromTime.pages.map((page) => page.length)).toEqual([1, 1, 1]);
    expect(ids(fromTime.pages.flat())).toEqual(["mid-1", "new-1", "old-1"]);

    const fromFuture = await container.items
      .getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Time(new Date(Date.now() + 3_600_000)) })
      .readNext();
    expect(fromFuture.statusCode).toBe(304);
  });

  it("a saved continuation token resumes from a new client exactly after the last change read", async () => {
    const container = await freshContainer();
    const all = Array.from({ length: 12 }, (_, i) => `doc-${String(i).padStart(2, "0")}`);
    await createInOrder(container, all);

    const reader = container.items.getChangeFeedIterator<Doc>({
      changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
      maxItemCount: 5,
    });
    const firstPage = await reader.readNext();
    expect(ids(firstPage.result)).toEqual(all.slice(0, 5));
    const saved = firstPage.continuationToken;

    // Changes after the save: an already-read document changes again, and a new one appears.
    await container.item("doc-01", "t1").replace({ id: "doc-01", tenant: "t1", n: 1 });
    await container.items.create({ id: "doc-new", tenant: "t3", n: 0 });

    const other = newClient();
    try {
      const resumed = other
        .database(container.database.id)
        .container(container.id)
        .items.getChangeFeedIterator<Doc>({
          changeFeedStartFrom: ChangeFeedStartFrom.Continuation(saved),
          maxItemCount: 5,
        });
      const { pages } = await drain(resumed);
      const changes = pages.flat();
      // In modification order within the partition key t1; t3's change may come on a page of its own.
      const t1 = changes.filter((doc) => doc.tenant === "t1");
      expect(ids(t1)).toEqual([...all.slice(5), "doc-01"]);
      expect(ids(changes.filter((doc) => doc.tenant !== "t1"))).toEqual(["doc-new"]);
      expect(changes.find((doc) => doc.id === "doc-01")?.n).toBe(1);
      expect(t1[0]!._lsn).toBeGreaterThan(firstPage.result.at(-1)!._lsn);
      expectIncreasingLsns(t1);
    } finally {
      other.dispose();
    }
  });

  it("iterates per feed range from getFeedRanges(), each with a continuation of its own, and per partition key", async () => {
    const container = await freshContainer();
    await createInOrder(container, ["a1", "a2"], "tenant-a");
    await createInOrder(container, ["b1"], "tenant-b");
    await createInOrder(container, ["a3"], "tenant-a");

    const ranges = await container.getFeedRanges();
    expect(ranges.length).toBeGreaterThan(0);
    const seen: string[] = [];
    const tokens: string[] = [];
    for (const range of ranges) {
      const { pages, caughtUp } = await drain(
        container.items.getChangeFeedIterator<Doc>({
          changeFeedStartFrom: ChangeFeedStartFrom.Beginning(range),
          maxItemCount: 2,
        }),
      );
      seen.push(...ids(pages.flat()));
      tokens.push(caughtUp.continuationToken);
    }
    expect(seen.sort()).toEqual(["a1", "a2", "a3", "b1"]);

    await createInOrder(container, ["b2"], "tenant-b");
    const resumed: string[] = [];
    for (const token of tokens) {
      const { pages } = await drain(
        container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Continuation(token) }),
      );
      resumed.push(...ids(pages.flat()));
    }
    expect(resumed).toEqual(["b2"]);

    const tenantA = await drain(
      container.items.getChangeFeedIterator<Doc>({
        changeFeedStartFrom: ChangeFeedStartFrom.Beginning("tenant-a"),
        maxItemCount: 2,
      }),
    );
    expect(tenantA.pages.map(ids)).toEqual([["a1", "a2"], ["a3"]]);
  });

  it("does not report deletes in latest version mode", async () => {
    const container = await freshContainer();
    await createInOrder(container, ["keep", "gone"]);
    const iterator = container.items.getChangeFeedIterator<Doc>({
      changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
    });
    expect(ids((await drain(iterator)).pages.flat())).toEqual(["keep", "gone"]);

    await container.item("gone", "t1").delete();
    expect((await iterator.readNext()).statusCode).toBe(304);
    expect(
      ids(
        (
          await drain(
            container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() }),
          )
        ).pages.flat(),
      ),
    ).toEqual(["keep"]);

    // A document recreated after its delete is a change again.
    await container.items.create({ id: "gone", tenant: "t1", n: 9 });
    const back = await iterator.readNext();
    expect(ids(back.result)).toEqual(["gone"]);
    expect(back.result[0]?.n).toBe(9);
  });

  it("refuses all versions and deletes mode from the beginning with a clear 400, as the service does", async () => {
    const container = await freshContainer();
    const iterator = container.items.getChangeFeedIterator<Doc>({
      changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
      changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
    });
    await expect(iterator.readNext()).rejects.toMatchObject({
      code: 400,
      message: expect.stringMatching(/starts from now or from a continuation/),
    });
  });
});
