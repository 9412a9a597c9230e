import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  ChangeFeedStartFrom,
  PartitionKeyBuilder,
  PartitionKeyDefinitionVersion,
  PartitionKeyKind,
  type ChangeFeedPullModelIterator,
  type Container,
  type CosmosClient,
  type FeedRange,
  type PartitionKey,
  type PartitionKeyDefinition,
} from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCosmosEmulator, type CosmosEmulatorHandle } from "../../scripts/stack/cosmos.js";
import { splitPartitionKeyRange } from "../../scripts/stack/cosmos-split.js";
import { writeLocalEnv } from "../../scripts/stack/local-env.js";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { uniqueName } from "../setup/services.js";

/**
 * Partition key ranges, effective partition keys and splits in the emulator
 * (patches/@vercel+cosmosdb-server+1.0.1.patch), through the real @azure/cosmos SDK: the change
 * feed of each range has exactly that range's changes, and a split loses and repeats nothing for
 * a reader that is mid-stream or resumes from a continuation taken before it. An emulator of its
 * own with four ranges per container, so that splits here touch no other test.
 */

const RANGES = 4;
let dir: string;
let emulator: CosmosEmulatorHandle;
let client: CosmosClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "driftless-ranges-"));
  emulator = await startCosmosEmulator({ dir, partitionRanges: RANGES });
  client = newClient();
});

afterAll(async () => {
  client?.dispose();
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function newClient(): CosmosClient {
  return createCosmosClient({ endpoint: emulator.endpoint, key: emulator.key, caFile: emulator.caFile });
}

/** The SDK's own EPK hashing (utils/hashing/hash.js), which it routes bulk and change feed requests by. */
const sdkRequire = createRequire(import.meta.url);
const { hashPartitionKey } = sdkRequire(
  join(dirname(sdkRequire.resolve("@azure/cosmos/package.json")), "dist/commonjs/utils/hashing/hash.js"),
) as {
  hashPartitionKey(values: unknown[], definition: PartitionKeyDefinition): string;
};

const V1: PartitionKeyDefinition = { paths: ["/tenant"] };
const V2: PartitionKeyDefinition = { paths: ["/tenant"], version: PartitionKeyDefinitionVersion.V2 };
const MULTI: PartitionKeyDefinition = {
  paths: ["/tenant", "/region"],
  kind: PartitionKeyKind.MultiHash,
  version: PartitionKeyDefinitionVersion.V2,
};

async function freshContainer(partitionKey: PartitionKeyDefinition = V1): Promise<Container> {
  const { database } = await client.databases.createIfNotExists({ id: "ranges" });
  const { container } = await database.containers.createIfNotExists({ id: uniqueName("r"), partitionKey });
  return container;
}

interface Doc {
  id: string;
  tenant?: unknown;
  region?: unknown;
  n: number;
  _lsn: number;
}

/** Every page until the feed answers 304. */
async function drain(iterator: ChangeFeedPullModelIterator<Doc>): Promise<Doc[]> {
  const changes: Doc[] = [];
  for (let i = 0; i < 1_000; i++) {
    const page = await iterator.readNext();
    if (page.statusCode === 304) return changes;
    changes.push(...page.result);
  }
  throw new Error("the change feed never caught up");
}

const byMin = (a: { minInclusive: string }, b: { minInclusive: string }) => (a.minInclusive < b.minInclusive ? -1 : 1);

function expectContiguous(ranges: readonly { minInclusive: string; maxExclusive: string }[]): void {
  const sorted = [...ranges].sort(byMin);
  expect(sorted[0]!.minInclusive).toBe("");
  expect(sorted.at(-1)!.maxExclusive).toBe("FF");
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.minInclusive).toBe(sorted[i - 1]!.maxExclusive);
  for (const range of sorted) {
    expect(range.minInclusive < range.maxExclusive).toBe(true);
    expect(range.maxExclusive).toMatch(/^[0-9A-F]+$/);
  }
}

/** Document ids over many partition keys, so that every range (and both halves of a split) gets some. */
const docsFor = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => ({ id: `d${from + k}`, tenant: `tenant-${from + k}`, n: 0 }));

async function createAll(container: Container, docs: readonly object[]): Promise<void> {
  for (const doc of docs) await container.items.create(doc);
}

/** A partition key value whose (V1) EPK lies in the range. */
function keyIn(range: { minInclusive: string; maxExclusive: string }): string {
  for (let i = 0; ; i++) {
    const epk = hashPartitionKey([`key-${i}`], V1);
    if (epk >= range.minInclusive && epk < range.maxExclusive) return `key-${i}`;
  }
}

/** Ids seen more than once. */
const repeated = (ids: readonly string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe("partition key ranges", () => {
  it("lists the configured ranges with string ids and contiguous hex boundaries from '' to 'FF'", async () => {
    for (const definition of [V1, V2, MULTI]) {
      const container = await freshContainer(definition);
      const { resources } = await container.readPartitionKeyRanges().fetchAll();
      expect(resources.map((range) => range.id).sort()).toEqual(["0", "1", "2", "3"]);
      for (const range of resources) expect(range.parents).toEqual([]);
      expectContiguous(resources);
      const feedRanges = await container.getFeedRanges();
      expect(feedRanges).toHaveLength(RANGES);
      expectContiguous(feedRanges as unknown as { minInclusive: string; maxExclusive: string }[]);
    }
  });

  it("places each document in the range holding the SDK's EPK of its key (Hash V1, Hash V2, MultiHash): the ranges' feeds partition the changes", async () => {
    const none = new PartitionKeyBuilder().addNoneValue().build();
    for (const definition of [V1, V2, MULTI]) {
      const container = await freshContainer(definition);
      const keys: PartitionKey[] = [];
      for (let i = 0; i < 40; i++) {
        const doc: Record<string, unknown> = { id: `d${i}`, n: 0 };
        // Strings, numbers, booleans, null and a missing property (None) hash differently.
        const value = [`tenant-${i}`, i, i % 2 === 0, null, undefined][i % 5];
        if (value !== undefined) doc.tenant = value;
        if (definition.kind === PartitionKeyKind.MultiHash) doc.region = `r${i % 3}`;
        await container.items.create(doc);
        keys.push(
          value === undefined && definition.kind !== PartitionKeyKind.MultiHash ? none : (value as PartitionKey),
        );
      }
      const ranges = await container.getFeedRanges();
      const seen = new Map<string, FeedRange>();
      for (const range of ranges) {
        for (const doc of await drain(
          container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(range) }),
        )) {
          expect(seen.has(doc.id), `${doc.id} in two ranges`).toBe(false);
          seen.set(doc.id, range);
          const values = definition.paths.map((path) => (path.slice(1) in doc ? doc[path.slice(1) as keyof Doc] : {}));
          const epk = hashPartitionKey(values, definition);
          expect(
            epk >= range.minInclusive && epk < range.maxExclusive,
            `${doc.id} (EPK ${epk}) read from [${range.minInclusive}, ${range.maxExclusive})`,
          ).toBe(true);
        }
      }
      expect([...seen.keys()].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `d${i}`).sort());
      // The keys spread: no single range has them all.
      expect(new Set(seen.values()).size).toBeGreaterThan(1);
    }
  });

  it("serves part of a range (x-ms-start-epk / x-ms-end-epk): the feed of a prefix of a hierarchical key", async () => {
    const container = await freshContainer(MULTI);
    await createAll(container, [
      { id: "1", tenant: "a", region: "x", n: 0 },
      { id: "2", tenant: "a", region: "y", n: 0 },
      { id: "3", tenant: "b", region: "x", n: 0 },
      { id: "4", tenant: "a", region: "z", n: 0 },
    ]);
    // The SDK turns a prefix key into the EPK range [hash(a), hash(a) + "FF") inside one range.
    const prefix = await drain(
      container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(["a"]) }),
    );
    expect(prefix.map((doc) => doc.id)).toEqual(["1", "2", "4"]);
  });
});

describe("splits", () => {
  it("splits a range in two: the parent leaves pkranges, the children name it in parents, and requests for it get 410/1002", async () => {
    const container = await freshContainer();
    await createAll(container, docsFor(0, 40));
    const before = (await container.readPartitionKeyRanges().fetchAll()).resources;
    const iterator = container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Now() });
    await iterator.readNext(); // the SDK caches the routing map from before the split

    const { parent, children } = await splitPartitionKeyRange(emulator, {
      database: "ranges",
      container: container.id,
      rangeId: "0",
    });
    expect(parent.id).toBe("0");
    expect(children.map((child) => child.id)).toEqual(["4", "5"]);
    expect(children[0].minInclusive).toBe(parent.minInclusive);
    expect(children[0].maxExclusive).toBe(children[1].minInclusive);
    expect(children[1].maxExclusive).toBe(parent.maxExclusive);
    for (const child of children) expect(child.parents).toEqual(["0"]);

    const after = (await container.readPartitionKeyRanges().fetchAll()).resources;
    expect(after.map((range) => range.id).sort()).toEqual(["1", "2", "3", "4", "5"]);
    expectContiguous(after);
    expect(after.filter((range) => range.id !== "4" && range.id !== "5")).toEqual(
      before.filter((range) => range.id !== "0"),
    );

    // The iterator still routes by the old map: the emulator answers 410 with sub-status 1002 for
    // range 0, the SDK refreshes its map and reads the children instead, where the new document is.
    const late = keyIn(parent);
    await container.items.create({ id: "late", tenant: late, n: 0 });
    const page = await iterator.readNext();
    const calls = page.diagnostics.clientSideRequestStatistics.gatewayStatistics as unknown as {
      partitionKeyRangeId?: string;
      statusCode: number;
      subStatusCode?: number;
    }[];
    expect(calls.find((call) => call.partitionKeyRangeId === "0")).toMatchObject({
      statusCode: 410,
      subStatusCode: 1002,
    });
    const rest = [...page.result, ...(await drain(iterator))];
    expect(rest.map((doc) => doc.id)).toEqual(["late"]);

    // Bulk routes by range id too: after another split its stale batches are re-routed, no read is lost.
    const reader = newClient();
    try {
      const readers = reader.database("ranges").container(container.id);
      const reads = () =>
        readers.items.bulk(
          docsFor(0, 40).map((doc) => ({ operationType: "Read" as const, id: doc.id, partitionKey: doc.tenant })),
        );
      expect((await reads()).map((read) => read.statusCode)).toEqual(Array(40).fill(200));
      await splitPartitionKeyRange(emulator, { database: "ranges", container: container.id });
      expect((await reads()).map((read) => read.statusCode)).toEqual(Array(40).fill(200));
    } finally {
      reader.dispose();
    }
  });

  it("an iterator mid-stream across splits, and a continuation saved before them, lose and repeat no change", async () => {
    const container = await freshContainer();
    await createAll(container, docsFor(0, 60));
    const iterator = container.items.getChangeFeedIterator<Doc>({
      changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
      maxItemCount: 5,
    });
    const read: string[] = [];
    let saved = "";
    for (let page = 0; page < 3; page++) {
      const response = await iterator.readNext();
      read.push(...response.result.map((doc) => doc.id));
      saved = response.continuationToken;
    }
    const readBeforeSave = [...read];
    // What the SDK saves: a composite token, one etag per range it reads.
    const token = JSON.parse(saved) as {
      rid: string;
      Continuation: { minInclusive: string; maxExclusive: string; continuationToken: string }[];
    };
    expect(token.rid).toEqual(expect.any(String));
    expectContiguous(token.Continuation);
    expect(token.Continuation).toHaveLength(RANGES);

    // Two splits, the second of a child of the first (its children name both ancestors), then
    // more changes in every range.
    const { children } = await splitPartitionKeyRange(emulator, { database: "ranges", container: container.id });
    const second = await splitPartitionKeyRange(emulator, {
      database: "ranges",
      container: container.id,
      rangeId: children[0].id,
    });
    expect(second.children[0].parents).toEqual([...children[0].parents, children[0].id]);
    await createAll(container, docsFor(60, 90));

    read.push(...(await drain(iterator)).map((doc) => doc.id));
    expect(repeated(read)).toEqual([]);
    expect(read.sort()).toEqual(
      docsFor(0, 90)
        .map((doc) => doc.id)
        .sort(),
    );

    // A second client, resuming from the token taken before the splits, reads exactly the rest.
    const other = newClient();
    try {
      const resumed = other
        .database("ranges")
        .container(container.id)
        .items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Continuation(saved) });
      const rest = (await drain(resumed)).map((doc) => doc.id);
      expect(repeated(rest)).toEqual([]);
      expect([...readBeforeSave, ...rest].sort()).toEqual(
        docsFor(0, 90)
          .map((doc) => doc.id)
          .sort(),
      );
      // Its token now names the children, each with an etag of its own.
      const now = JSON.parse((await resumed.readNext()).continuationToken) as typeof token;
      expect(now.Continuation).toHaveLength(RANGES + 2);
      expectContiguous(now.Continuation);
    } finally {
      other.dispose();
    }
  });

  it("a feed range from before a split goes on over its children", async () => {
    const container = await freshContainer();
    await createAll(container, docsFor(0, 60));
    const [first] = [...(await container.getFeedRanges())].sort(byMin);
    const iterator = container.items.getChangeFeedIterator<Doc>({
      changeFeedStartFrom: ChangeFeedStartFrom.Beginning(first!),
      maxItemCount: 3,
    });
    const read = (await iterator.readNext()).result.map((doc) => doc.id);
    await splitPartitionKeyRange(emulator, { database: "ranges", container: container.id, rangeId: "0" });
    await createAll(container, docsFor(60, 120));
    read.push(...(await drain(iterator)).map((doc) => doc.id));

    const inFirst = (id: string) => {
      const epk = hashPartitionKey([`tenant-${id.slice(1)}`], V1);
      return epk >= first!.minInclusive && epk < first!.maxExclusive;
    };
    expect(repeated(read)).toEqual([]);
    expect(read.sort()).toEqual(
      docsFor(0, 120)
        .map((doc) => doc.id)
        .filter(inFirst)
        .sort(),
    );
  });

  it("driftless stack split splits through the emulator named in .driftless/local.env", async () => {
    const container = await freshContainer();
    const state = join(dir, "cli-state");
    await writeLocalEnv(join(state, "local.env"), {
      COSMOS_ENDPOINT: emulator.endpoint,
      COSMOS_CA_FILE: emulator.caFile,
    });
    const run = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "stack", "split", ...args], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        timeout: 60_000,
      });
    const split = run(["ranges", container.id, "2", "--dir", state]);
    expect(split.stderr).toBe("");
    expect(split.status).toBe(0);
    expect(split.stdout).toMatch(
      /^split range 2 \["05C1E0", "05C1E8"\) into 4 \["05C1E0", "[0-9A-F]+"\) and 5 \["[0-9A-F]+", "05C1E8"\)\n$/,
    );
    const gone = run(["ranges", container.id, "2", "--dir", state]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(
      /^driftless: stack_cosmos_failed: the emulator refused the split \(404\): partition key range 2 does not exist/,
    );
    const nowhere = run(["ranges", container.id, "--dir", join(dir, "no-state")]);
    expect(nowhere.status).toBe(3);
    expect(nowhere.stderr).toMatch(/COSMOS_ENDPOINT/);
  }, 120_000);

  it("refuses a split of a missing container or range with 404", async () => {
    const container = await freshContainer();
    await expect(
      splitPartitionKeyRange(emulator, { database: "ranges", container: container.id, rangeId: "9" }),
    ).rejects.toThrow(/\(404\).*range 9 does not exist/);
    await expect(splitPartitionKeyRange(emulator, { database: "ranges", container: "nope" })).rejects.toThrow(
      /\(404\).*does not exist/,
    );
    await splitPartitionKeyRange(emulator, { database: "ranges", container: container.id, rangeId: "1" });
    await expect(
      splitPartitionKeyRange(emulator, { database: "ranges", container: container.id, rangeId: "1" }),
    ).rejects.toThrow(/\(404\)/);
  });
});
