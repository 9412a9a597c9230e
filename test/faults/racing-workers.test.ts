import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DocKey } from "../../shared/core/keys.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { streamChanges } from "./support/changes.js";
import { drained, indexMatchesCosmos } from "./support/checks.js";
import { recordFigures } from "./support/figures.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

const DOCS = 12;
const STREAM_MS = 20_000;

/**
 * Three worker processes race on a handful of documents updated many times a second (so many
 * versions share one `_ts` second). Per-key exclusivity in the queue orders the writes of one
 * document; external versions keep an older read from overwriting a newer one. At the end every
 * document is indexed at Cosmos's last version with Cosmos's last content.
 */
describe("fault: three workers racing on rapid updates of the same documents", () => {
  let source: TestSource;
  let services: Services;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_BATCH_SIZE: "4", SYNC_CONCURRENCY: "2", SYNC_IDLE_POLL_MS: "10" } });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    workers.push(...["race-a", "race-b", "race-c"].map((name) => spawnWorker(name, source.env)));
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await services?.close();
    await source?.dispose();
  });

  it("ends with the index equal to Cosmos, version by version", async () => {
    const started = Date.now();
    const queue = services.sources.get(source.name)!.queue;
    await Promise.all(workers.map((worker) => worker.url()));
    const keys = Array.from({ length: DOCS }, (_, i) => ({ id: `hot${i}`, pk: `t${i % 2}` }));
    const stream = streamChanges({
      container: source.container,
      keys,
      writers: 6,
      pauseMs: 0,
      deleteShare: 0.05,
      enqueue: (changed: DocKey[]) => queue.enqueue(changed, { lane: "live", now: Date.now() }),
    });
    await new Promise((resolve) => setTimeout(resolve, STREAM_MS));
    const counts = await stream.stop();

    await drained(queue);
    const { mismatches, deadLetters } = await indexMatchesCosmos(source, queue);
    for (const worker of workers) expect(await worker.stop(), worker.stderr()).toBe(0);

    const perDocumentPerSecond = counts.changes / DOCS / (STREAM_MS / 1000);
    const line =
      `racing workers: ${counts.changes} changes sent (${counts.deletes} deletes) to ${DOCS} documents ` +
      `(${(counts.changes / DOCS / (STREAM_MS / 1000)).toFixed(1)} per document per second) by 3 workers, 0 kills, 0 outages, ` +
      `dead letters ${deadLetters}, final mismatches ${mismatches.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    console.log(`[faults] ${line}`);
    expect(perDocumentPerSecond).toBeGreaterThan(2);
    expect(mismatches).toEqual([]);
    expect(deadLetters).toBe(0);
    await recordFigures("racing-workers", "three workers on hot documents", line, {
      changes: counts.changes,
      deletes: counts.deletes,
      documents: DOCS,
      "changes per document per second": Number(perDocumentPerSecond.toFixed(1)),
      workers: 3,
      "dead letters": deadLetters,
      mismatches: mismatches.length,
    });
  }, 120_000);
});
