import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisHandle } from "../../scripts/stack/redis.js";
import type { DocKey } from "../../shared/core/keys.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { streamChanges } from "./support/changes.js";
import { drained, indexMatchesCosmos } from "./support/checks.js";
import { recordFigures } from "./support/figures.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

const RESTARTS = 3;
const DOCS = 200;

/**
 * The queue's Redis (append-only file, fsync always) is stopped for 3 s and started again, three times, while changes
 * stream in and two workers sync. Whatever Redis acknowledged survives the restart; calls made
 * while it is down fail or wait and are tried again; in-flight keys whose settle failed come back
 * through the reaper. At the end the index equals Cosmos. This file runs its own Redis.
 */
describe("fault: Redis restarted (AOF on) mid-stream", () => {
  let dir: string;
  let redis: RedisHandle;
  let source: TestSource;
  let services: Services;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-fault-redis-"));
    await chmod(dir, 0o755);
    redis = await startRedis({ dir, appendOnly: true });
    source = await createTestSource({
      env: {
        REDIS_URL: redis.url,
        SYNC_BATCH_SIZE: "20",
        QUEUE_LEASE_MS: "5000",
        ELASTICSEARCH_REQUEST_TIMEOUT_MS: "3000",
        QUEUE_REAP_INTERVAL_MS: "500",
        REDIS_COMMAND_TIMEOUT_MS: "2000",
        CIRCUIT_HALF_OPEN_AFTER_MS: "500",
        CIRCUIT_HALF_OPEN_MAX_MS: "2000",
      },
    });
    services = createServices(source.config, silentLogger);
    services.clients.redis.on("error", () => undefined);
    await services.ensureIndexes();
    workers.push(spawnWorker("redis-a", source.env), spawnWorker("redis-b", source.env));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await services?.close();
    await source?.dispose();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("loses nothing: every acknowledged enqueue survives, and the index equals Cosmos", async () => {
    const started = Date.now();
    const queue = services.sources.get(source.name)!.queue;
    await Promise.all(workers.map((worker) => worker.url()));
    const keys = Array.from({ length: DOCS }, (_, i) => ({ id: `r${i}`, pk: `t${i % 5}` }));
    const stream = streamChanges({
      container: source.container,
      keys,
      enqueue: (changed: DocKey[]) => queue.enqueue(changed, { lane: "live", now: Date.now() }),
    });

    const downtimes: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      await new Promise((resolve) => setTimeout(resolve, 4000 + Math.random() * 3000));
      const down = Date.now();
      await redis.stop();
      // Down long enough that commands time out, circuits open and the producer has to retry.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await redis.restart();
      downtimes.push(Date.now() - down);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const counts = await stream.stop();

    await drained(queue);
    const { mismatches, deadLetters } = await indexMatchesCosmos(source, queue);
    for (const worker of workers) expect(worker.alive(), worker.stderr()).toBe(true);

    const line =
      `redis restart: ${counts.changes} changes sent, ${RESTARTS} restarts (down ${downtimes.map((ms) => `${ms} ms`).join(", ")}), ` +
      `${counts.enqueueRetries} producer enqueues retried, 0 kills, dead letters ${deadLetters}, final mismatches ${mismatches.length} ` +
      `(${((Date.now() - started) / 1000).toFixed(0)} s)`;
    console.log(`[faults] ${line}`);
    expect(counts.changes).toBeGreaterThan(300);
    expect(mismatches).toEqual([]);
    // What the README quotes: no dead letters, and the queue's own retries (inside each enqueue
    // call) carried every enqueue through the restarts: the producer never had to try again.
    expect(deadLetters).toBe(0);
    expect(counts.enqueueRetries).toBe(0);
    for (const ms of downtimes) expect(ms).toBeGreaterThanOrEqual(3000);
    await recordFigures("redis-restart", "three restarts under load", line, {
      changes: counts.changes,
      restarts: RESTARTS,
      "longest downtime (ms)": Math.max(...downtimes),
      "producer enqueues retried": counts.enqueueRetries,
      "dead letters": deadLetters,
      mismatches: mismatches.length,
    });
  }, 180_000);
});
