import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXTRA_ENGINES, startElasticsearch, type ElasticsearchHandle } from "../../scripts/stack/elasticsearch.js";
import { localOperations } from "../../cli/operations/local.js";
import { readyHandler } from "../../shared/api/probes.js";
import type { ApiRequest } from "../../shared/api/types.js";
import { loadConfig } from "../../shared/config/index.js";
import { createSearchClient, type SearchClient } from "../../shared/elastic/index.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { runJobToEnd } from "../setup/jobs.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { drain } from "../../shared/sync/drain.js";
import { syncUntil as drainUntil } from "../setup/sync-until.js";

/**
 * Two sources in one deployment, on two engines: `onElastic` writes to the default target (the
 * run's Elasticsearch 8), `onSearch` to a target named "search" (OpenSearch 2, started once for
 * this file the way engines.test.ts starts it). Both use the same alias name, so a write that went
 * to the wrong engine would land in an alias the test reads.
 */
const opensearch = EXTRA_ENGINES.find((distribution) => distribution.engine === "opensearch")!;

let dir: string;
let handle: ElasticsearchHandle;
let os: SearchClient;
let onElastic: TestSource;
let onSearch: TestSource;
let services: Services;
let alias: string;

function sourcesFile(searchUrl: string) {
  const [a] = JSON.parse(onElastic.env.DRIFTLESS_SOURCES!) as Record<string, unknown>[];
  const [b] = JSON.parse(onSearch.env.DRIFTLESS_SOURCES!) as Record<string, unknown>[];
  return {
    targets: { search: { engine: "opensearch", url: searchUrl } },
    sources: [a, { ...b, index: a!.index, target: "search" }],
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "driftless-targets-"));
  await chmod(dir, 0o755);
  handle = await startElasticsearch({ dir: join(dir, "opensearch"), ...opensearch });
  os = createSearchClient({ node: handle.url, engine: "opensearch" });
  onElastic = await createTestSource();
  onSearch = await createTestSource();
  const config = loadConfig({ ...onElastic.env, DRIFTLESS_SOURCES: JSON.stringify(sourcesFile(handle.url)) });
  alias = config.sources[0]!.index;
  services = createServices(config, silentLogger);
  await services.ensureIndexes();
}, 400_000);

afterAll(async () => {
  await services?.close();
  await os?.close();
  await onElastic?.dispose();
  await onSearch?.dispose();
  await handle?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every `_id` behind the alias on one engine. */
async function ids(client: SearchClient): Promise<string[]> {
  await client.indices.refresh({ index: alias });
  const result = await client.search({ index: alias, size: 1000, _source: false });
  return result.hits.hits.map((hit) => hit._id!).sort();
}

const syncUntil = (name: string, done: () => Promise<void>) => drainUntil(services.sources.get(name)!.sync, done);

const live = { lane: "live" as const, now: Date.now() };

describe("a source per search target", () => {
  it("creates each source's index on its own engine", async () => {
    expect(await onElastic.elastic.indices.exists({ index: alias })).toBe(true);
    expect(await os.indices.exists({ index: alias })).toBe(true);
  });

  it("writes and deletes each container's documents in its own engine, never the other", async () => {
    await onElastic.container.items.upsert({ id: "es-1", tenant: "t", title: "on elasticsearch" });
    await onSearch.container.items.upsert({ id: "os-1", tenant: "t", title: "on opensearch" });
    await services.sources.get(onElastic.name)!.queue.enqueue([{ id: "es-1", pk: "t" }], live);
    await services.sources.get(onSearch.name)!.queue.enqueue([{ id: "os-1", pk: "t" }], live);
    await syncUntil(onElastic.name, async () => expect(await ids(onElastic.elastic)).toEqual(["es-1"]));
    await syncUntil(onSearch.name, async () => expect(await ids(os)).toEqual(["os-1"]));
    expect(await ids(onElastic.elastic)).toEqual(["es-1"]);

    await onSearch.container.item("os-1", "t").delete();
    await services.sources.get(onSearch.name)!.queue.enqueue([{ id: "os-1", pk: "t" }], live);
    await syncUntil(onSearch.name, async () => expect(await ids(os)).toEqual([]));
    expect(await ids(onElastic.elastic)).toEqual(["es-1"]);
  });

  it("reimports the OpenSearch source into OpenSearch", async () => {
    const docs = makeDocs(40, "re");
    await createDocuments(onSearch.container, docs);
    const job = await runJobToEnd(services, "reimport", onSearch.name, 120_000);
    expect(job).toMatchObject({ state: "succeeded", scanned: 40, indexed: 40 });
    expect(await ids(os)).toEqual(docs.map((doc) => doc.id).sort());
    expect(await ids(onElastic.elastic)).toEqual(["es-1"]);
    // The CLI's document count (job progress) asks each source's own engine.
    const operations = localOperations(services);
    expect([await operations.documentCount(onSearch.name), await operations.documentCount(onElastic.name)]).toEqual([
      40, 1,
    ]);
  }, 150_000);

  it("reconciles the OpenSearch source against its own engine: an orphan there is deleted, the other engine's entry stays", async () => {
    // An entry driftless wrote once (it has a key) whose document is no longer in Cosmos.
    const key = JSON.stringify(["orphan", "t"]);
    await os.bulk({
      operations: [{ index: { _index: alias, _id: "orphan" } }, { title: "gone", driftless: { key } }],
      refresh: true,
    });
    expect(await ids(os)).toContain("orphan");
    const job = await runJobToEnd(services, "reconcile", onSearch.name, 120_000);
    expect(job.state).toBe("succeeded");
    await syncUntil(onSearch.name, async () => expect(await ids(os)).not.toContain("orphan"));
    expect(await ids(onElastic.elastic)).toEqual(["es-1"]);
  }, 150_000);

  it("checks each target in /api/ready and /api/health, by name", async () => {
    const request = {} as ApiRequest;
    expect(await readyHandler(services, request)).toMatchObject({ status: 200 });
    const checks = await services.health();
    expect(checks["elasticsearch:search"]).toMatchObject({ ok: true });

    const file = sourcesFile("http://127.0.0.1:1");
    const down = createServices(
      loadConfig({ ...onElastic.env, DRIFTLESS_SOURCES: JSON.stringify(file) }),
      silentLogger,
    );
    try {
      expect(await readyHandler(down, request)).toEqual({
        status: 503,
        body: { status: "not_ready", unavailable: ["elasticsearch:search"] },
      });
    } finally {
      await down.close();
    }
  });

  it("an engine that is down pauses only its own sources: the default target's source keeps syncing", async () => {
    const down = createServices(
      loadConfig({
        ...onElastic.env,
        DRIFTLESS_SOURCES: JSON.stringify(sourcesFile("http://127.0.0.1:1")),
        CIRCUIT_FAILURE_THRESHOLD: "1",
      }),
      silentLogger,
    );
    const stop = new AbortController();
    const options = { budgetMs: 60_000, concurrency: 1, idlePollMs: 50, signal: stop.signal };
    try {
      await onSearch.container.items.upsert({ id: "os-down", tenant: "t", title: "waits for its engine" });
      await down.sources.get(onSearch.name)!.queue.enqueue([{ id: "os-down", pk: "t" }], live);
      const failing = drain(down.sources.get(onSearch.name)!.sync, options);
      // Long enough for the first write to the dead target to fail and open a circuit.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await onElastic.container.items.upsert({ id: "es-during", tenant: "t", title: "written meanwhile" });
      await down.sources.get(onElastic.name)!.queue.enqueue([{ id: "es-during", pk: "t" }], live);
      const working = drain(down.sources.get(onElastic.name)!.sync, options);
      await eventually(async () => expect(await ids(onElastic.elastic)).toEqual(["es-1", "es-during"]), {
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      expect(down.circuits.elasticsearch.state()).toBe("closed");
      stop.abort();
      await Promise.all([failing, working]);
      // The other engine's key is still queued, waiting, not dead-lettered.
      expect(await down.sources.get(onSearch.name)!.queue.stats(Date.now())).toMatchObject({ deadLettered: 0 });
      expect((await down.sources.get(onSearch.name)!.queue.stats(Date.now())).pending).toBeGreaterThan(0);
    } finally {
      stop.abort();
      await down.close();
    }
  }, 60_000);

  it("the CLI exits 3 with one line naming the source when its target is unknown", () => {
    const file = sourcesFile(handle.url);
    file.sources[1] = { ...file.sources[1], target: "serach" };
    const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", "status"], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...onElastic.env,
        DRIFTLESS_SOURCES: JSON.stringify(file),
      },
      timeout: 60_000,
    });
    expect(result.status).toBe(3);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^driftless: config_invalid: .*source ".+": unknown target "serach"/);
  });
});
