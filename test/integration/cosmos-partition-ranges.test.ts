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
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { uniqueName } from "../setup/services.js";

/**
 * Partition key ranges and effective partition keys in the emulator
 * (patches/@vercel+cosmosdb-server+1.0.1.patch), through the real @azure/cosmos SDK: the change
 * feed of each range has exactly that range's changes. An emulator of its own with four ranges
 * per container.
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
const { hashPartitionKey } = sdkRequire(join(dirname(sdkRequire.resolve("@azure/cosmos/package.json")), "dist/commonjs/utils/hashing/hash.js")) as {
  hashPartitionKey(values: unknown[], definition: PartitionKeyDefinition): string;
};

const V1: PartitionKeyDefinition = { paths: ["/tenant"] };
const V2: PartitionKeyDefinition = { paths: ["/tenant"], version: PartitionKeyDefinitionVersion.V2 };
const MULTI: PartitionKeyDefinition = { paths: ["/tenant", "/region"], kind: PartitionKeyKind.MultiHash, version: PartitionKeyDefinitionVersion.V2 };

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

async function createAll(container: Container, docs: readonly object[]): Promise<void> {
  for (const doc of docs) await container.items.create(doc);
}

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
        keys.push(value === undefined && definition.kind !== PartitionKeyKind.MultiHash ? none : (value as PartitionKey));
      }
      const ranges = await container.getFeedRanges();
      const seen = new Map<string, FeedRange>();
      for (const range of ranges) {
        for (const doc of await drain(container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(range) }))) {
          expect(seen.has(doc.id), `${doc.id} in two ranges`).toBe(false);
          seen.set(doc.id, range);
          const values = definition.paths.map((path) => (path.slice(1) in doc ? doc[path.slice(1) as keyof Doc] : {}));
          const epk = hashPartitionKey(values, definition);
          expect(epk >= range.minInclusive && epk < range.maxExclusive, `${doc.id} (EPK ${epk}) read from [${range.minInclusive}, ${range.maxExclusive})`).toBe(true);
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
    const prefix = await drain(container.items.getChangeFeedIterator<Doc>({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning(["a"]) }));
    expect(prefix.map((doc) => doc.id)).toEqual(["1", "2", "4"]);
  });
});
