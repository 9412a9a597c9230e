import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisHandle } from "../../scripts/stack/redis.js";
import { waitingStore } from "../../shared/capture/waiting-store.js";
import type { CaptureStore } from "../../shared/capture/capture-store.js";
import { loadConfig } from "../../shared/config/index.js";
import { DependencyError } from "../../shared/core/errors.js";
import { encodeKey } from "../../shared/core/keys.js";
import { queueKeys } from "../../shared/redis/keys.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

/**
 * REDIS_WAIT_REPLICAS against a real Redis primary and a real replica started here: an enqueue is
 * answered only once the replica has it, and with the replica stopped the producer answers 503
 * and a capture checkpoint fails, instead of acknowledging writes a failover could lose.
 */
describe("REDIS_WAIT_REPLICAS: enqueues and checkpoints wait for a replica", () => {
  let dir: string;
  let primary: RedisHandle;
  let replica: RedisHandle;
  let source: TestSource;
  let worker: WorkerHandle;
  let onReplica: Redis;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-wait-"));
    primary = await startRedis({ dir: join(dir, "primary") });
    replica = await startRedis({ dir: join(dir, "replica"), replicaOf: primary.port });
    onReplica = new Redis(replica.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    onReplica.on("error", () => undefined); // while the replica is stopped
    await eventually(async () => expect(await onReplica.info("replication")).toContain("master_link_status:up"), {
      timeoutMs: 15_000,
    });
    source = await createTestSource({
      env: { REDIS_URL: primary.url, REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "300", CAPTURE_ENABLED: "false" },
    });
    worker = await startWorker(loadConfig({ ...source.env, WORKER_PORT: "0", WORKER_SYNC: "false" }), {
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    await worker?.stop();
    onReplica?.disconnect();
    await source?.dispose();
    await replica?.stop();
    await primary?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const enqueue = (id: string) =>
    fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: [{ id, pk: "t1" }] }),
    });

  it("answers an enqueue once the replica has it; with the replica down, 503, and a checkpoint save fails", async () => {
    const keys = queueKeys(source.config.redis.keyPrefix, source.name);
    const acked = await enqueue("kept");
    expect(acked.status).toBe(202);
    // Answered after WAIT: the replica holds the key already, no polling needed.
    expect(await onReplica.zscore(keys.live, encodeKey({ id: "kept", pk: "t1" }))).not.toBeNull();

    const redis = new Redis(primary.url);
    try {
      // A store that writes its checkpoint on this connection, whatever the capture store's shape.
      const written = `${source.config.redis.keyPrefix}:{${source.name}}:test:checkpoint`;
      const inner = {
        token: "t",
        acquire: async () => true,
        release: async () => undefined,
        async saveCheckpoint(...args: unknown[]) {
          await redis.set(written, String(args.at(-1)));
          return true;
        },
      } as unknown as CaptureStore;
      const store = waitingStore(inner, redis, source.config.redis.wait);
      const save = (continuation: string) =>
        (store.saveCheckpoint as (...args: string[]) => Promise<boolean>)(continuation);
      expect(await save("continuation-1")).toBe(true);
      expect(await onReplica.get(written)).toBe("continuation-1");

      await replica.stop();
      const refused = await enqueue("unreplicated");
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: { code: "redis_unavailable" } });
      const error = await save("continuation-2").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyError);
      expect((error as Error).message).toMatch(/0 of 1 Redis replicas acknowledged/);

      // Back: the producer's retry is answered (the key was on the primary already: a duplicate).
      await replica.restart();
      await eventually(async () => expect(await onReplica.info("replication")).toContain("master_link_status:up"), {
        timeoutMs: 15_000,
      });
      const again = await enqueue("unreplicated");
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ enqueued: 0, duplicates: 1 });
    } finally {
      redis.disconnect();
    }
  });

  it("is validated with the other settings", () => {
    expect(() => loadConfig({ ...source.env, REDIS_WAIT_REPLICAS: "-1" })).toThrow(/REDIS_WAIT_REPLICAS/);
    expect(() => loadConfig({ ...source.env, REDIS_WAIT_TIMEOUT_MS: "0" })).toThrow(/REDIS_WAIT_TIMEOUT_MS/);
    expect(() => loadConfig({ ...source.env, REDIS_WAIT_TIMEOUT_MS: "20000" })).toThrow(
      /REDIS_WAIT_TIMEOUT_MS: must be shorter than REDIS_COMMAND_TIMEOUT_MS/,
    );
    expect(loadConfig({ ...source.env, REDIS_WAIT_REPLICAS: "0" }).redis.wait).toBeUndefined();
  });
});
