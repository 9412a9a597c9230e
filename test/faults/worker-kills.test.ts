import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { streamChanges } from "./support/changes.js";
import { drained, indexMatchesCosmos, queueProbe } from "./support/checks.js";
import { recordFigures } from "./support/figures.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

const STREAM_MS = 35_000;
const DOCS = 300;

/**
 * SIGKILL worker processes at random moments while changes stream in, and start new ones. A
 * killed worker's claimed keys stay leased until the lease expires; a surviving worker's reaper
 * returns them and they are processed again. At the end the index equals Cosmos.
 */
describe("fault: workers killed with SIGKILL during a stream of changes", () => {
  let source: TestSource;
  let services: Services;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    source = await createTestSource({
      env: {
        SYNC_BATCH_SIZE: "20",
        SYNC_CONCURRENCY: "2",
        // Short leases so a dead worker's keys come back within seconds; the write timeout bounds
        // how far a batch extends its lease before writing.
        QUEUE_LEASE_MS: "4000",
        ELASTICSEARCH_REQUEST_TIMEOUT_MS: "3000",
        QUEUE_REAP_INTERVAL_MS: "500",
      },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await services?.close();
    await source?.dispose();
  });

  it("loses nothing: the index equals Cosmos (or differs exactly by the dead letters)", async () => {
    const started = Date.now();
    const queue = services.sources.get(source.name)!.queue;
    const probe = queueProbe(source.env.REDIS_URL!, source.env.REDIS_KEY_PREFIX!, source.name);
    const start = () => {
      const worker = spawnWorker(`w${workers.length}`, source.env);
      workers.push(worker);
      return worker;
    };
    let live = [start(), start()];
    await live[0]!.url();

    const keys = Array.from({ length: DOCS }, (_, i) => ({ id: `k${i}`, pk: `t${i % 7}` }));
    const stream = streamChanges({
      container: source.container,
      keys,
      enqueue: (changed) => queue.enqueue(changed, { lane: "live", now: Date.now() }),
    });
    let kills = 0;
    const until = Date.now() + STREAM_MS;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2000 + Math.random() * 3000));
      const victim = live[Math.floor(Math.random() * live.length)]!;
      await victim.kill();
      kills++;
      live = [...live.filter((worker) => worker !== victim), start()];
    }
    const counts = await stream.stop();
    const midway = await queue.stats(Date.now());

    await drained(queue);
    const { mismatches, deadLetters } = await indexMatchesCosmos(source, queue);
    const attemptsLeft = await probe.attempts();
    await probe.close();
    // The newest worker may still be loading its modules, before any signal handler exists (Node's
    // default would kill it): SIGTERM is sent once it listens, and must then end it with 0.
    for (const worker of live) {
      await worker.url();
      expect(await worker.stop(), worker.stderr()).toBe(0);
    }

    const line =
      `worker kills: ${counts.changes} changes sent (${counts.deletes} deletes) to ${DOCS} documents, ${kills} SIGKILLs, ` +
      `${workers.length} worker processes, 0 outages, backlog at stream end ${midway.pending + midway.inflight}, ` +
      `dead letters ${deadLetters}, final mismatches ${mismatches.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    console.log(`[faults] ${line}`);
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(counts.changes).toBeGreaterThan(500);
    expect(mismatches).toEqual([]);
    // The README quotes 0 dead letters: a kill must never cost a key its place in the index.
    expect(deadLetters).toBe(0);
    expect(attemptsLeft).toBe(0);
    await recordFigures("worker-kills", "SIGKILLed workers", line, {
      changes: counts.changes,
      deletes: counts.deletes,
      documents: DOCS,
      SIGKILLs: kills,
      "worker processes": workers.length,
      "dead letters": deadLetters,
      mismatches: mismatches.length,
    });
  }, 180_000);
});
