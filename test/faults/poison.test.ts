import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { recordFigures } from "./support/figures.js";
import { drained, indexMatchesCosmos } from "./support/checks.js";

const API_KEY = "poison-test-key-0123456789";
const GOOD = 150;

/** Documents Elasticsearch itself refuses, each for a different real reason. */
const POISON = [
  {
    id: "poison-conflict",
    tenant: "p",
    title: "a string where the mapping says integer",
    n: "not a number",
    expect: /document_parsing_exception/,
  },
  {
    id: "poison-immense",
    tenant: "p",
    title: "a keyword over Lucene's 32766-byte term limit",
    n: 1,
    code: "x".repeat(40_000),
    expect: /failed to parse field \[code\] of type \[keyword\]/,
  },
  {
    id: "poison-fields",
    tenant: "p",
    title: "more fields than index.mapping.total_fields.limit",
    n: 2,
    ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`extra${i}`, i])),
    expect: /Limit of total fields \[20\]/,
  },
];

/**
 * Poison documents among good ones: a mapping conflict, a term over Lucene's size limit, a
 * document over the index's field limit. Each ends in the dead letters with Elasticsearch's
 * reason while everything else syncs, and a document bigger than a whole bulk batch still syncs.
 */
describe("fault: poison documents", () => {
  let source: TestSource;
  let worker: WorkerHandle;

  beforeAll(async () => {
    source = await createTestSource({
      extra: {
        mapping: {
          properties: {
            title: { type: "text" },
            n: { type: "integer" },
            tenant: { type: "keyword" },
            code: { type: "keyword" },
          },
        },
        settings: { "index.mapping.total_fields.limit": 20 },
      },
    });
    const config = loadConfig({
      ...source.env,
      WORKER_PORT: "0",
      DRIFTLESS_API_KEY: API_KEY,
      SYNC_BATCH_SIZE: "25",
      SYNC_BATCH_MAX_BYTES: "65536",
      CAPTURE_ENABLED: "false",
    });
    worker = await startWorker(config, { logger: silentLogger });
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  it("dead-letters each poison document with its reason while the rest syncs", async () => {
    const started = Date.now();
    const queue = worker.services.sources.get(source.name)!.queue;
    const good = Array.from({ length: GOOD }, (_, i) => ({
      id: `good${i}`,
      tenant: `t${i % 4}`,
      title: `good ${i}`,
      n: i,
    }));
    // Bigger than SYNC_BATCH_MAX_BYTES on its own: it goes in a bulk request by itself, and syncs.
    const big = { id: "big", tenant: "t0", title: "y".repeat(200_000), n: -1 };
    const documents = [...good, big, ...POISON.map(({ expect: _, ...document }) => document)];
    for (let i = 0; i < documents.length; i += 16) {
      await Promise.all(documents.slice(i, i + 16).map((document) => source.container.items.create(document)));
    }
    const response = await fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": API_KEY },
      body: JSON.stringify({ items: documents.map((document) => ({ id: document.id, pk: document.tenant })) }),
    });
    expect(response.status).toBe(202);

    await drained(queue, 60_000);
    const list = (await (
      await fetch(`${worker.url}/sources/${source.name}/deadletters`, { headers: { "x-functions-key": API_KEY } })
    ).json()) as {
      total: number;
      items: { id: string; reason: string; lastError: string; attempts: number }[];
    };
    const { mismatches, deadLetters } = await indexMatchesCosmos(source, queue);

    const line =
      `poison documents: ${documents.length} changes sent (${POISON.length} poison, 1 over SYNC_BATCH_MAX_BYTES), ` +
      `dead letters ${deadLetters} (${list.items.map((item) => `${item.id}: ${item.lastError.slice(0, 60)}`).join(" | ")}), ` +
      `final mismatches beyond the dead letters ${mismatches.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
    console.log(`[faults] ${line}`);
    expect(list.total).toBe(POISON.length);
    for (const poison of POISON) {
      const letter = list.items.find((item) => item.id === poison.id);
      // Dead-lettered after one attempt: it would fail the same way again.
      expect(letter, poison.id).toMatchObject({
        reason: "rejected by elasticsearch",
        lastError: expect.stringMatching(poison.expect),
        attempts: 1,
      });
    }
    expect(mismatches).toEqual([]);
    const indexed = await source.indexed();
    expect(indexed.size).toBe(GOOD + 1);
    expect(indexed.get("big")?.source.title).toHaveLength(200_000);
    await recordFigures("poison", "poison documents among good ones", line, {
      changes: documents.length,
      "poison documents": POISON.length,
      "dead letters": list.total,
      "attempts per dead letter": [...new Set(list.items.map((item) => item.attempts))].join(", "),
      "mismatches beyond the dead letters": mismatches.length,
      indexed: indexed.size,
    });
  }, 120_000);
});
