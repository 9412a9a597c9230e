import type { Container, CosmosClient, FeedOptions } from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { services, uniqueName } from "../setup/services.js";

/**
 * The emulator's read feed (patches/@vercel+cosmosdb-server+1.0.1.patch): `items.readAll()`,
 * which the SDK sends as the query `SELECT * from c`, pages through a sorted index of the
 * documents' `_rid`s instead of sorting the whole container for every page. These tests hold it
 * to the emulator's own query engine, which still serves `SELECT * FROM c WHERE true` (same
 * documents, same order, same continuation) the old way: every page, every continuation token,
 * also when documents are created, replaced and deleted between pages.
 */

interface Doc {
  id: string;
  tenant: string;
  n: number;
  _rid: string;
  _etag: string;
}

let client: CosmosClient;
let container: Container;

beforeAll(async () => {
  const { endpoint, key, caFile } = services().cosmos;
  client = createCosmosClient({ endpoint, key, ...(caFile === null ? {} : { caFile }) });
  const { database } = await client.databases.createIfNotExists({ id: "driftless-test" });
  ({ container } = await database.containers.createIfNotExists({
    id: uniqueName("rf"),
    partitionKey: { paths: ["/tenant"] },
  }));
  await upsertAll(Array.from({ length: 300 }, (_, n) => n));
});

afterAll(async () => {
  await container?.delete().catch(() => undefined);
  client?.dispose();
});

const docOf = (n: number, revision = 0) => ({ id: `d-${n}`, tenant: `t-${n % 7}`, n: revision });

async function upsertAll(numbers: readonly number[], revision = 0): Promise<void> {
  for (let start = 0; start < numbers.length; start += 100) {
    const results = await container.items.bulk(
      numbers
        .slice(start, start + 100)
        .map((n) => ({ operationType: "Upsert" as const, resourceBody: docOf(n, revision) })),
    );
    expect(results.every((result) => result.statusCode < 300)).toBe(true);
  }
}

async function remove(numbers: readonly number[]): Promise<void> {
  for (const n of numbers) await container.item(`d-${n}`, `t-${n % 7}`).delete();
}

type Page = { ids: string[]; continuation: string | undefined };

/** One page of the read feed (readAll) or of the query engine's equivalent. */
async function page(kind: "readAll" | "query", options: FeedOptions): Promise<Page> {
  const iterator =
    kind === "readAll"
      ? container.items.readAll<Doc>(options)
      : container.items.query<Doc>("SELECT * FROM c WHERE true", options);
  const response = await iterator.fetchNext();
  return {
    ids: response.resources.map((doc) => `${doc.id}@${doc._etag}`),
    continuation: response.continuationToken || undefined,
  };
}

async function all(kind: "readAll" | "query", maxItemCount: number): Promise<Page[]> {
  const pages: Page[] = [];
  let continuation: string | undefined;
  do {
    const next = await page(kind, { maxItemCount, ...(continuation ? { continuationToken: continuation } : {}) });
    pages.push(next);
    continuation = next.continuation;
  } while (continuation);
  return pages;
}

describe("emulator read feed (readAll)", () => {
  it("gives the query engine's pages and continuation tokens, at every page size", async () => {
    for (const size of [1, 7, 100, 299, 300, 1000]) {
      const fast = await all("readAll", size);
      expect(fast).toEqual(await all("query", size));
      expect(fast.flatMap((p) => p.ids)).toHaveLength(300);
      expect(fast.at(-1)!.continuation).toBeUndefined();
    }
  });

  it("resumes a continuation like the query engine after creates, replaces and deletes between pages", async () => {
    const first = await page("readAll", { maxItemCount: 40 });
    expect(first.ids).toHaveLength(40);
    expect(first).toEqual(await page("query", { maxItemCount: 40 }));
    // Documents before and after the continuation's position change: some go, some are replaced
    // (a new _etag, the same _rid), and new ones come (new _rids, sorted in among the old ones).
    await remove([3, 150, 151, 299]);
    await upsertAll([0, 10, 200, 201], 1);
    await upsertAll(Array.from({ length: 60 }, (_, i) => 1000 + i));
    const resumed = { maxItemCount: 100, continuationToken: first.continuation! };
    const fast = await page("readAll", resumed);
    expect(fast).toEqual(await page("query", resumed));
    expect(await all("readAll", 50)).toEqual(await all("query", 50));
    const everything = (await all("readAll", 1000)).flatMap((p) => p.ids.map((id) => id.split("@")[0]));
    expect(everything).toHaveLength(300 - 4 + 60);
    expect(everything).not.toContain("d-150");
    expect(everything).toContain("d-1059");
  });

  it("leaves other queries to the query engine", async () => {
    const filtered = await container.items
      .query<Doc>({ query: "SELECT * FROM c WHERE c.tenant = @t", parameters: [{ name: "@t", value: "t-1" }] })
      .fetchAll();
    expect(filtered.resources.length).toBeGreaterThan(0);
    expect(filtered.resources.every((doc) => doc.tenant === "t-1")).toBe(true);
    const sorted = await container.items.query<Doc>("SELECT * FROM c ORDER BY c.n DESC").fetchAll();
    const revisions = sorted.resources.map((doc) => doc.n);
    expect(revisions).toEqual([...revisions].sort((a, b) => b - a));
  });
});
