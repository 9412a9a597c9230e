import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsistencyLevel, CosmosClient, type Container } from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCosmosEmulator, type CosmosEmulatorHandle } from "../../scripts/stack/cosmos.js";
import { uniqueName } from "../setup/services.js";

/**
 * Session tokens and replica lag in the emulator (patches/@vercel+cosmosdb-server+1.0.1.patch),
 * through the real @azure/cosmos SDK. Under Session consistency a client reads its own writes
 * because it sends back the session token of each write; another client, such as the driftless
 * worker, has no such token, and a replica that has not applied a write yet may serve its read
 * (https://learn.microsoft.com/azure/cosmos-db/consistency-levels#session-consistency).
 */

const LAG_MS = 3_000;
let dir: string;
let emulator: CosmosEmulatorHandle;
const clients: CosmosClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "driftless-lag-"));
  emulator = await startCosmosEmulator({ dir, partitionRanges: 2, replicaLagMs: LAG_MS });
});

afterAll(async () => {
  for (const client of clients) client.dispose();
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * @azure/cosmos 4.x sends a request's session token only when the client (or the request) asks
 * for Session consistency explicitly (ClientContext.applySessionToken checks the
 * x-ms-consistency-level header), so the writer's client sets it, as an application that relies
 * on reading its own writes must.
 */
function newClient(consistencyLevel?: ConsistencyLevel): CosmosClient {
  const client = new CosmosClient({
    endpoint: emulator.endpoint,
    key: emulator.key,
    agent: new Agent({ ca: readFileSync(emulator.caFile), keepAlive: true }),
    connectionPolicy: { enableEndpointDiscovery: false },
    ...(consistencyLevel ? { consistencyLevel } : {}),
  });
  clients.push(client);
  return client;
}

async function containers(): Promise<{ writer: Container; other: Container }> {
  const writerClient = newClient(ConsistencyLevel.Session);
  const { database } = await writerClient.databases.createIfNotExists({ id: "lag" });
  const { container } = await database.containers.createIfNotExists({
    id: uniqueName("lag"),
    partitionKey: { paths: ["/tenant"] },
  });
  return { writer: container, other: newClient().database("lag").container(container.id) };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a client sees of document a: its version, or 404 (with the sub-status), by point read and in bulk. */
async function seen(container: Container): Promise<{ point: number | string; bulk: number | string }> {
  const point = await container.item("a", "t").read<{ v: number }>();
  const [bulk] = await container.items.bulk([{ operationType: "Read", id: "a", partitionKey: "t" }]);
  return {
    point: point.statusCode === 404 ? `404/${point.substatus ?? 0}` : point.resource!.v,
    bulk: bulk!.statusCode === 404 ? "404" : (bulk!.resourceBody as { v: number }).v,
  };
}

describe("session tokens", () => {
  it("answer every write with <rangeId>:-1#<lsn> and the container as owner, as the service does", async () => {
    const { writer } = await containers();
    const ranges = (await writer.readPartitionKeyRanges().fetchAll()).resources;
    const first = await writer.items.create({ id: "a", tenant: "t", v: 1 });
    const token = first.headers["x-ms-session-token"] as string;
    expect(token).toMatch(/^(\d+):-1#(\d+)$/);
    expect(ranges.map((range) => range.id)).toContain(token.split(":")[0]);
    expect(first.headers["x-ms-content-path"]).toBe((await writer.read()).resource!._rid);
    // The next write to the same partition has a later LSN in the same range.
    const second = await writer.items.upsert({ id: "a", tenant: "t", v: 2 });
    const [range, lsn] = (second.headers["x-ms-session-token"] as string).split(":-1#");
    expect(range).toBe(token.split(":")[0]);
    expect(Number(lsn)).toBeGreaterThan(Number(token.split("#")[1]));
  });
});

describe("replica lag", () => {
  it("the writer's session reads its own writes at once; another client reads the previous version, or 404, until the lag has passed", async () => {
    const { writer, other } = await containers();

    await writer.items.create({ id: "a", tenant: "t", v: 1 });
    expect(await seen(writer)).toEqual({ point: 1, bulk: 1 });
    expect(await seen(other)).toEqual({ point: "404/0", bulk: "404" });
    await pause(LAG_MS + 200);
    expect(await seen(other)).toEqual({ point: 1, bulk: 1 });

    const replaced = await writer.items.upsert({ id: "a", tenant: "t", v: 2 });
    expect(await seen(writer)).toEqual({ point: 2, bulk: 2 });
    expect(await seen(other)).toEqual({ point: 1, bulk: 1 });
    // The writer's token, handed to the other client, is enough to see the write.
    const withToken = await other
      .item("a", "t")
      .read<{ v: number }>({ sessionToken: replaced.headers["x-ms-session-token"] as string });
    expect(withToken.resource?.v).toBe(2);
    await pause(LAG_MS + 200);
    expect(await seen(other)).toEqual({ point: 2, bulk: 2 });

    await writer.item("a", "t").delete();
    expect(await seen(writer)).toEqual({ point: "404/0", bulk: "404" });
    expect(await seen(other)).toEqual({ point: 2, bulk: 2 });
    await pause(LAG_MS + 200);
    expect(await seen(other)).toEqual({ point: "404/0", bulk: "404" });
  });
});
