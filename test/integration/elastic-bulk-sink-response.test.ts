import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBulkSink, createElasticClient, ensureIndex, type Client } from "../../shared/elastic/index.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { services, uniqueName } from "../setup/services.js";

/**
 * The sink asks Elasticsearch for the fields it classifies by and nothing more (filter_path):
 * item errors must still arrive whole, and documents JSON cannot express are refused per item.
 */
describe("bulk sink with a filtered response", () => {
  let client: Client;
  let alias: string;

  beforeAll(async () => {
    client = createElasticClient({ node: services().elasticsearchUrl });
    alias = uniqueName("es-filtered");
    await ensureIndex(client, {
      alias,
      mapping: { properties: { n: { type: "integer" } } },
      settings: { number_of_replicas: 0 },
    });
  });

  afterAll(async () => {
    const indices = Object.keys(await client.indices.get({ index: `${alias}-*` }));
    if (indices.length) await client.indices.delete({ index: indices });
    await client.close();
  });

  const op = (id: string, document: Record<string, unknown>, version = 1_700_000_000): SinkOp => ({
    action: "index",
    member: JSON.stringify([id, "pk"]),
    id,
    version,
    document,
  });

  it("classifies every item with Elasticsearch's reasons intact", async () => {
    const sink = createBulkSink(client, { refresh: "wait_for" });
    const outcomes = await sink.write(alias, [
      op("good", { n: 1 }),
      op("conflict", { n: "not a number" }),
      op("bigint", { n: 2n }),
      { action: "delete", member: JSON.stringify(["never", "pk"]), id: "never", version: 1_700_000_000 },
      op("older", { n: 3 }, 1),
    ]);
    expect(outcomes).toEqual([
      { member: JSON.stringify(["good", "pk"]), outcome: "ok" },
      {
        member: JSON.stringify(["conflict", "pk"]),
        outcome: "dead",
        error: expect.stringMatching(/^document_parsing_exception: .*\[n\].*\(caused by number_format_exception/),
      },
      {
        member: JSON.stringify(["bigint", "pk"]),
        outcome: "dead",
        error: expect.stringMatching(/^document cannot be serialized to JSON: .*BigInt/),
      },
      { member: JSON.stringify(["never", "pk"]), outcome: "ok" },
      { member: JSON.stringify(["older", "pk"]), outcome: "ok" },
    ]);
    const stored = await client.get<Record<string, unknown>>({ index: alias, id: "good" });
    expect(stored._source).toMatchObject({ n: 1, driftless: { ts: 1_700_000_000 } });
  });

  it("an alias that does not exist is still refused as a whole", async () => {
    await expect(createBulkSink(client).write(`${alias}-missing`, [op("x", { n: 1 })])).rejects.toThrow(
      /does not exist|missing/i,
    );
  });
});
