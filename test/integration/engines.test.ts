import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTRA_ENGINES, startElasticsearch, type ElasticsearchHandle } from "../../scripts/stack/elasticsearch.js";
import { createBulkSink, createSearchClient, ensureIndex, IndexMissingError } from "../../shared/elastic/index.js";
import type { SearchClient, SearchEngine } from "../../shared/elastic/index.js";
import { createIndexScanner } from "../../shared/elastic/scan.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { syncUntil as drainUntil } from "../setup/sync-until.js";
import { services as stackServices, uniqueName } from "../setup/services.js";

/**
 * The focused subset run on every engine: the sink's item classification on each engine's real
 * error responses, the index manager, the point-in-time scanner, and a reimport and a rebuild end
 * to end. The default engine is the run's own Elasticsearch 8; the others are started here, once
 * for this file (so the rest of the suite pays nothing for them).
 *
 * DRIFTLESS_ENGINES=opensearch (a comma list of `elasticsearch-9`, `opensearch`) narrows the
 * extra engines; `none` runs the default only.
 */
interface EngineUnderTest {
  readonly label: string;
  readonly engine: SearchEngine;
  url: string;
  handle?: ElasticsearchHandle;
}

const wanted = (process.env.DRIFTLESS_ENGINES ?? "opensearch,elasticsearch-9").split(",");
const extra = EXTRA_ENGINES.map((distribution) => ({
  distribution,
  label: distribution.engine === "opensearch" ? "opensearch" : `elasticsearch-${distribution.version.split(".")[0]}`,
})).filter(({ label }) => wanted.includes(label));

const engines: EngineUnderTest[] = [
  { label: "elasticsearch-8 (default)", engine: "elasticsearch", url: "" },
  ...extra.map(({ label, distribution }) => ({ label, engine: distribution.engine, url: "" })),
];

let dir: string;

beforeAll(async () => {
  engines[0]!.url = stackServices().elasticsearchUrl;
  dir = await mkdtemp(join(tmpdir(), "driftless-engines-"));
  await chmod(dir, 0o755);
  // One after another: two JVMs starting at once on two cores take longer than in turn.
  for (const [i, { distribution }] of extra.entries()) {
    const target = engines[i + 1]!;
    target.handle = await startElasticsearch({ dir: join(dir, target.label), ...distribution });
    target.url = target.handle.url;
  }
}, 400_000);

afterAll(async () => {
  for (const engine of engines) await engine.handle?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(engines)("on $label", (target) => {
  let client: SearchClient;
  beforeAll(() => {
    client = createSearchClient({ node: target.url, engine: target.engine });
  });
  afterAll(async () => client?.close());

  const op = (id: string, document: Record<string, unknown>, version = 1_700_000_000): SinkOp => ({
    action: "index",
    member: JSON.stringify([id, "pk"]),
    id,
    version,
    document,
  });

  it("classifies each bulk item from the engine's own error responses", async () => {
    const alias = uniqueName("eng-classify");
    await ensureIndex(client, {
      alias,
      mapping: { properties: { n: { type: "integer" } } },
      settings: { number_of_replicas: 0 },
    });
    const sink = createBulkSink(client, { refresh: "wait_for" });
    await sink.write(alias, [op("newer", { n: 1 }, 1_700_000_100)]);
    const outcomes = await sink.write(alias, [
      op("good", { n: 2 }),
      // A mapping conflict: the engine's 400 (mapper_parsing_exception / document_parsing_exception).
      op("bad", { n: "not a number" }),
      // Older than what is indexed: the engine's 409 version conflict counts as done.
      op("newer", { n: 0 }, 1_700_000_000),
      { action: "delete", member: JSON.stringify(["never", "pk"]), id: "never", version: 1_700_000_000 },
    ]);
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(["ok", "dead", "ok", "ok"]);
    const dead = outcomes[1] as { error: string };
    expect(dead.error).toMatch(/(mapper_parsing|document_parsing)_exception: .*\[n\]/);
    const newer = await client.mget({ index: alias, ids: ["newer"] });
    expect((newer.docs[0] as { _source?: { n?: number } })._source?.n).toBe(1);

    // Every item refused because the alias is not there (require_alias): one clear error.
    await expect(sink.write(uniqueName("eng-missing"), [op("x", { n: 1 })])).rejects.toBeInstanceOf(IndexMissingError);
  });

  it("creates the alias's index version, finds it behind the alias, and scans it with a point in time", async () => {
    const alias = uniqueName("eng-index");
    const first = await ensureIndex(client, {
      alias,
      mapping: { properties: { n: { type: "integer" } } },
      settings: { number_of_replicas: 0 },
    });
    expect(first.created).toBeDefined();
    const again = await ensureIndex(client, {
      alias,
      mapping: { properties: { n: { type: "integer" }, title: { type: "text" } } },
    });
    expect(again).toMatchObject({ created: undefined, indices: [first.created], addedFields: ["title"] });

    const sink = createBulkSink(client, { refresh: "wait_for" });
    const ops = Array.from({ length: 25 }, (_, i) => op(`d${i}`, { n: i }));
    expect((await sink.write(alias, ops)).every((outcome) => outcome.outcome === "ok")).toBe(true);

    const scanner = createIndexScanner(client);
    let pit = await scanner.open(alias, "1m");
    const seen: string[] = [];
    let after: readonly unknown[] | undefined;
    for (;;) {
      const page = await scanner.page({ pit, after, size: 10, keepAlive: "1m" });
      if (page.hits.length === 0) break;
      seen.push(...page.hits.map((hit) => hit.key ?? "?"));
      ({ pit, after } = page);
    }
    await scanner.close(pit);
    expect(seen.sort()).toEqual(ops.map((o) => o.member).sort());
  });

  describe("sync, reimport and rebuild end to end", () => {
    let source: TestSource;
    let services: Services;
    const DOCS = 300;

    beforeAll(async () => {
      source = await createTestSource({
        env: { ELASTICSEARCH_URL: target.url, ELASTICSEARCH_ENGINE: target.engine, REIMPORT_PAGE_SIZE: "100" },
      });
      services = createServices(source.config, silentLogger);
      await services.ensureIndexes();
      await createDocuments(source.container, makeDocs(DOCS));
    });
    afterAll(async () => {
      await services?.close();
      await source?.dispose();
    });

    const runToEnd = (jobId: string): Promise<Job> =>
      eventually(
        async () => {
          const { job } = await services.jobs.runChunk(jobId, 60_000);
          if (!job || !isTerminal(job.state)) throw new Error(`job ${jobId} is ${job?.state}`);
          return job;
        },
        { timeoutMs: 150_000, intervalMs: 100 },
      );
    const indexed = async (alias: string) => {
      await client.indices.refresh({ index: alias });
      return (await client.count({ index: alias })).count;
    };

    it("syncs a change end to end: enqueue, drain, indexed; deleted in Cosmos, gone from the index", async () => {
      const alias = source.config.sources[0]!.index;
      const sync = services.sources.get(source.name)!;
      const key = { id: "live-1", pk: "t" };
      const syncUntil = (done: () => Promise<void>) => drainUntil(sync.sync, done);
      const entry = async () => {
        await client.indices.refresh({ index: alias });
        const { docs } = await client.mget({ index: alias, ids: [key.id] });
        return docs[0] as { found?: boolean; _source?: { title?: string } };
      };

      await source.container.items.upsert({ id: key.id, tenant: key.pk, title: "synced" });
      await sync.queue.enqueue([key], { lane: "live", now: Date.now() });
      await syncUntil(async () => expect((await entry())._source?.title).toBe("synced"));

      await source.container.item(key.id, key.pk).delete();
      await sync.queue.enqueue([key], { lane: "live", now: Date.now() });
      await syncUntil(async () => expect((await entry()).found).toBe(false));
    });

    it("reimports every document into the live alias", async () => {
      const job = await runToEnd((await services.jobs.start("reimport", source.name)).id);
      expect(job).toMatchObject({ state: "succeeded", scanned: DOCS, indexed: DOCS });
      expect(await indexed(source.config.sources[0]!.index)).toBe(DOCS);
    });

    it("rebuilds into a new index version and swaps the alias to it", async () => {
      const alias = source.config.sources[0]!.index;
      const before = Object.keys(await client.indices.getAlias({ name: alias }));
      const job = await runToEnd((await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id);
      expect(job).toMatchObject({ state: "succeeded", scanned: DOCS });
      const after = Object.keys(await client.indices.getAlias({ name: alias }));
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
      expect(await indexed(alias)).toBe(DOCS);
    });
  });
});
