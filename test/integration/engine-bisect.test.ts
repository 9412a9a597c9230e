import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { syncBatch } from "../../shared/sync/engine.js";
import type { BatchReport } from "../../shared/sync/report.js";
import type { SyncDeps } from "../../shared/sync/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

// Slow for real: every term of `big` is indexed into six fields with edge prefixes, phrases and
// term vectors, which takes Elasticsearch 3 to 5 s for one document of 1.2 MB here, against a
// request timeout of 1 s (the test distribution has no ingest processors, so a mapping does it
// instead of a pipeline).
const heavy = {
  type: "text",
  index_prefixes: { min_chars: 1, max_chars: 19 },
  index_phrases: true,
  term_vector: "with_positions_offsets",
};
const mapping = {
  properties: {
    title: { type: "text" },
    n: { type: "integer" },
    tenant: { type: "keyword" },
    big: { type: "text", copy_to: ["c1", "c2", "c3", "c4", "c5", "c6"] },
    c1: heavy,
    c2: heavy,
    c3: heavy,
    c4: heavy,
    c5: heavy,
    c6: heavy,
  },
};

function bigText(chars: number): string {
  const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}${Math.random().toString(36).slice(2, 9)}`);
  const parts: string[] = [];
  for (let length = 0; length < chars; ) {
    const word = words[Math.floor(Math.random() * words.length)]!;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(" ");
}

describe("engine: a document that times out every bulk request", () => {
  let source: TestSource;
  let services: Services;
  let deps: SyncDeps;

  beforeAll(async () => {
    source = await createTestSource({
      extra: { mapping },
      env: { ELASTICSEARCH_REQUEST_TIMEOUT_MS: "1000", SYNC_BATCH_SIZE: "10" },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    deps = services.sources.get(source.name)!.sync;
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  const bulkIdle = () =>
    eventually(
      async () => {
        const { nodes } = await source.elastic.tasks.list({ actions: "indices:data/write/bulk*" });
        expect(Object.values(nodes ?? {}).flatMap((node) => Object.keys(node.tasks ?? {}))).toEqual([]);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

  it("is split off its batch down to itself and dead-lettered with its reason; the others are written", {
    timeout: 180_000,
  }, async () => {
    const small = Array.from({ length: 6 }, (_, i) => ({
      id: `bisect-${i + 1}`,
      tenant: "t1",
      title: `small ${i + 1}`,
      n: i,
    }));
    for (const doc of small) await source.container.items.create(doc);
    await source.container.items.create({
      id: "bisect-slow",
      tenant: "t1",
      title: "slow",
      n: 99,
      big: bigText(1_200_000),
    });
    await deps.queue.enqueue(
      [...small, { id: "bisect-slow" }].map((doc) => ({ id: doc.id, pk: "t1" })),
      { lane: "live", now: Date.now() },
    );

    const reports: BatchReport[] = [];
    for (let batch = 0; batch < 8; batch++) {
      const report = await syncBatch(deps);
      reports.push(report);
      const stats = await deps.queue.stats(Date.now());
      if (stats.pending + stats.inflight === 0) break;
      // The drain would wait the pause; here also until Elasticsearch has finished the request the
      // client gave up on (the server did not), so it cannot hold up the next batch's requests.
      const pause = report.pause;
      if (pause) {
        await new Promise((resolve) => setTimeout(resolve, pause.retryAfterMs));
        await bulkIdle();
      }
    }
    console.log(
      `[bisect] ${reports.map((r) => `claimed ${r.claimed}, indexed ${r.indexed}, released ${r.released}, dead ${r.deadLettered}`).join(" | ")}`,
    );

    const letters = await deps.queue.listDeadLetters();
    expect(letters).toEqual([
      expect.objectContaining({
        key: { id: "bisect-slow", pk: "t1" },
        reason: "bulk request timed out 2 times with this document alone",
        lastError: expect.stringContaining("TimeoutError"),
      }),
    ]);
    const indexed = await source.indexed();
    for (const doc of small) expect(indexed.get(doc.id)?.source).toMatchObject({ title: doc.title });
    // No release loop: the batch timed out twice whole, once split, once the document alone.
    expect(reports.length).toBeLessThanOrEqual(5);
    expect(reports.reduce((n, r) => n + r.indexed, 0)).toBe(6);
    expect(await deps.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 1 });
    expect(
      await deps.queue.timeouts(["bisect-slow", ...small.map((doc) => doc.id)].map((id) => JSON.stringify([id, "t1"]))),
    ).toEqual(Array(7).fill(undefined));
  });
});
