import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const DOCS = 600;

/** `driftless worker` as a real child process, stopped politely (SIGTERM) and rudely (SIGKILL). */
describe("worker process lifecycle", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function prepare() {
    const source = await createTestSource({
      env: {
        QUEUE_LEASE_MS: "5000",
        ELASTICSEARCH_REQUEST_TIMEOUT_MS: "2000",
        SYNC_BATCH_SIZE: "20",
        SYNC_CONCURRENCY: "1",
      },
    });
    const services = createServices(source.config, silentLogger);
    cleanups.push(
      () => source.dispose(),
      () => services.close(),
    );
    await services.ensureIndexes();
    const keys = Array.from({ length: DOCS }, (_, i) => ({ id: `w${i}`, pk: `t${i % 5}` }));
    for (const [i, key] of keys.entries())
      await source.container.items.create({ id: key.id, tenant: key.pk, title: `w ${i}`, n: i });
    const queue = services.sources.get(source.name)!.queue;
    await queue.enqueue(keys, { lane: "live", now: Date.now() });
    return { source, services, queue };
  }

  function startWorker(source: TestSource): ChildProcess & { stderrText: () => string } {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "worker"], {
      env: { ...process.env, ...source.env, WORKER_PORT: "0", LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    cleanups.push(async () => void child.kill("SIGKILL"));
    return Object.assign(child, { stderrText: () => stderr });
  }

  /**
   * Waits until the worker has settled some batches and still has work; with `holding`, also
   * until it holds a claimed batch right now (under load a batch may be waiting out a retry
   * backoff, with nothing in flight).
   */
  const waitForProgress = (services: Services, name: string, holding = false) =>
    eventually(
      async () => {
        const stats = await services.sources.get(name)!.queue.stats(Date.now());
        expect(stats.pending).toBeLessThan(DOCS - 40);
        expect(stats.pending).toBeGreaterThan(0);
        if (holding) expect(stats.inflight).toBeGreaterThan(0);
      },
      { timeoutMs: 60_000, intervalMs: holding ? 5 : 20 },
    );

  it("on SIGTERM stops claiming, settles its in-flight batch and exits 0", async () => {
    const { source, services, queue } = await prepare();
    const worker = startWorker(source);
    await waitForProgress(services, source.name);
    worker.kill("SIGTERM");
    const [code] = (await once(worker, "exit")) as [number | null];
    expect(code, worker.stderrText()).toBe(0);

    const stats = await queue.stats(Date.now());
    expect(stats.inflight).toBe(0);
    const indexed = (await source.indexed()).size;
    expect(indexed).toBeGreaterThan(0);
    expect(indexed + stats.pending).toBe(DOCS);

    await runSyncPass(services, { budgetMs: 60_000, untilIdle: true });
    expect(await differences(source)).toEqual([]);
  }, 120_000);

  it("after SIGKILL its leased keys expire, are reaped and processed again", async () => {
    const { source, services, queue } = await prepare();
    const worker = startWorker(source);
    await waitForProgress(services, source.name, true);
    worker.kill("SIGKILL");
    await once(worker, "exit");

    // What it had claimed is still leased: nothing settled, nothing lost, nothing dead.
    const before = await queue.stats(Date.now());
    expect(before.deadLettered).toBe(0);
    expect(before.inflight).toBeGreaterThan(0);
    expect(before.pending + before.inflight + (await source.indexed()).size).toBeGreaterThanOrEqual(DOCS);
    let reaped = 0;
    await eventually(
      async () => {
        reaped += (await queue.reap(Date.now())).requeued;
        expect((await queue.stats(Date.now())).inflight).toBe(0);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(reaped).toBe(before.inflight);

    await runSyncPass(services, { budgetMs: 60_000, untilIdle: true });
    expect(await queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
    expect(await differences(source)).toEqual([]);
  }, 120_000);
});
