import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CosmosClient } from "@azure/cosmos";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { startRedis } from "../../scripts/stack/redis.js";
import { services, uniqueName } from "../setup/services.js";

describe("local stack", () => {
  it("Redis answers PING", async () => {
    const redis = new Redis(services().redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
    }
  });

  it("Elasticsearch reports a green or yellow cluster", async () => {
    const response = await fetch(`${services().elasticsearchUrl}/_cluster/health`);
    expect(response.status).toBe(200);
    const health = (await response.json()) as { status: string };
    expect(["green", "yellow"]).toContain(health.status);
  });

  it("the Cosmos SDK creates a database, a container and an item, and reads the item back", async () => {
    const { endpoint, key, caFile } = services().cosmos;
    const agent = new Agent({ keepAlive: true, ...(caFile === null ? {} : { ca: readFileSync(caFile) }) });
    const client = new CosmosClient({ endpoint, key, agent });
    const databaseId = uniqueName("stack");
    try {
      const { database } = await client.databases.createIfNotExists({ id: databaseId });
      const { container } = await database.containers.createIfNotExists({
        id: "items",
        partitionKey: { paths: ["/pk"] },
      });
      await container.items.create({ id: "a", pk: "p1", title: "hello" });
      const { resource } = await container.item("a", "p1").read<{ id: string; pk: string; title: string }>();
      expect(resource).toMatchObject({ id: "a", pk: "p1", title: "hello" });
    } finally {
      await client
        .database(databaseId)
        .delete()
        .catch(() => undefined);
      client.dispose();
      agent.destroy();
    }
  });
});

describe("startRedis", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("survives kill() and restart() on the same port, keeping appended writes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "driftless-redis-"));
    dirs.push(dir);
    const server = await startRedis({ dir, appendOnly: true });
    const client = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    client.on("error", () => undefined); // reconnect noise while the server is down
    try {
      await client.set("survivor", "yes");

      await server.kill();
      await expect(client.ping()).rejects.toThrow();

      await server.restart();
      expect(new URL(server.url).port).toBe(String(server.port));
      await expect.poll(() => client.ping().catch(() => "down"), { timeout: 10_000 }).toBe("PONG");
      expect(await client.get("survivor")).toBe("yes");
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
