import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobKeys } from "../../shared/redis/keys.js";
import { rebuildAlias } from "../../shared/jobs/rebuild.js";
import { withExtraTargets } from "../../shared/elastic/fan-out.js";
import { createWriteTargets } from "../../shared/jobs/write-targets.js";
import { createBulkSink } from "../../shared/elastic/index.js";
import { createIndexVersion, indexVersionName, swapAlias } from "../../shared/elastic/index-manager.js";
import type { Sink } from "../../shared/sync/ports.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createDocuments, makeDocs, retrying, type TestDoc } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const DOCS = 3000;
const PAGE = 500;

/**
 * Rebuilds into a new index version with the alias swapped at the end, cancel, and reconcile,
 * against the real emulator, Elasticsearch and Redis.
 */
describe("rebuild, cancel and reconcile", () => {
  let source: TestSource;
  let services: Services;
  let docs: TestDoc[];
  let alias: string;

  beforeAll(async () => {
    source = await createTestSource({
      env: { REIMPORT_PAGE_SIZE: String(PAGE), RECONCILE_BATCH_SIZE: "700", COSMOS_REQUEST_TIMEOUT_MS: "60000" },
    });
    services = createServices(source.config, silentLogger);
    alias = source.config.sources[0]!.index;
    await services.ensureIndexes();
    docs = makeDocs(DOCS);
    await createDocuments(source.container, docs);
    // The live index starts complete: an in-place reimport fills it.
    const job = await runToEnd(services, (await services.jobs.start("reimport", source.name)).id);
    expect(job).toMatchObject({ state: "succeeded", scanned: DOCS, indexed: DOCS });
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  // What a sync process would read right after its claim.
  const extraTargets = () =>
    createWriteTargets(services.clients.redis, source.config.redis.keyPrefix).extraTargets(source.name);
  const indexSettings = async (index: string) =>
    (await source.elastic.indices.getSettings({ index }))[index]!.settings!.index as Record<string, unknown>;
  const sync = () => runSyncPass(services, { budgetMs: 60_000, untilIdle: true });
  const aliasTargets = async (name: string) =>
    Object.keys(await source.elastic.indices.getAlias({ name }).catch(() => ({})));

  it("rebuilds into a new index while searches are served throughout and live changes reach both indexes", async () => {
    const before = await aliasTargets(alias);
    expect(before).toHaveLength(1);
    await source.elastic.indices.refresh({ index: alias });

    // A searcher on the alias for the whole rebuild, swap and clean-up included.
    const searching = new AbortController();
    const samples: number[] = [];
    const searchErrors: string[] = [];
    const searcher = (async () => {
      while (!searching.signal.aborted) {
        try {
          const result = await source.elastic.search({
            index: alias,
            size: 0,
            track_total_hits: true,
            query: { match_all: {} },
          });
          samples.push(typeof result.hits.total === "number" ? result.hits.total : (result.hits.total?.value ?? 0));
        } catch (error) {
          searchErrors.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    const started = (await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id;
    // Two pages of six, then live changes: some to documents the scan has copied already.
    let job = (await services.jobs.runChunk(started, 60_000, { maxPages: 2 })).job!;
    expect(job).toMatchObject({ state: "running", mode: "rebuild", phase: "scan", scanned: 2 * PAGE });
    const target = job.targetIndex!;
    expect(target).not.toBe(before[0]);
    expect(await aliasTargets(rebuildAlias(alias))).toEqual([target]);
    expect(await extraTargets()).toEqual([rebuildAlias(alias)]);
    // Filled as a bulk load: no periodic refresh, no replicas, until it goes live.
    expect(await indexSettings(target)).toMatchObject({ refresh_interval: "-1", number_of_replicas: "0" });

    const changed = docs.filter((_, i) => i % 50 === 0); // 60 documents spread over all pages
    for (const doc of changed)
      await retrying(() =>
        source.container.items.upsert({ ...doc, title: `during rebuild ${doc.n}`, n: doc.n + 50_000 }),
      );
    const removed = docs.filter((_, i) => i % 300 === 7); // 10 documents
    for (const doc of removed) await retrying(() => source.container.item(doc.id, doc.tenant).delete());
    const queue = services.sources.get(source.name)!.queue;
    await queue.enqueue(
      [...changed, ...removed].map((doc) => ({ id: doc.id, pk: doc.tenant })),
      { lane: "live", now: Date.now() },
    );
    await sync();

    job = await runToEnd(services, started);
    searching.abort();
    await searcher;

    expect(job).toMatchObject({ state: "succeeded", pages: DOCS / PAGE, targetIndex: target });
    // The scan read what Cosmos had at the time: 3000 documents less the ten removed behind it.
    expect(job.scanned).toBeGreaterThanOrEqual(DOCS - removed.length);
    expect(searchErrors).toEqual([]);
    expect(samples.length).toBeGreaterThan(10);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(DOCS - removed.length);
    expect(await aliasTargets(alias)).toEqual([target]);
    expect(await source.elastic.indices.exists({ index: before[0]! })).toBe(false);
    expect(await aliasTargets(rebuildAlias(alias))).toEqual([]);
    expect(await extraTargets()).toEqual([]);
    // The source sets neither, so both are back at Elasticsearch's defaults (absent from the index's own settings).
    const live = await indexSettings(target);
    expect(live).not.toHaveProperty("refresh_interval");
    expect(live).not.toHaveProperty("number_of_replicas", "0");
    expect(await differences(source)).toEqual([]);
    const view = services.jobs.toView(job);
    expect(view).toMatchObject({
      jobId: started,
      state: "succeeded",
      mode: "rebuild",
      targetIndex: target,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });
    // Its three phases, which add up to the whole run.
    const { prepare, scan, swap } = view.phaseMs;
    expect([prepare, scan, swap].every((ms) => typeof ms === "number" && ms >= 0)).toBe(true);
    expect(prepare! + scan! + swap!).toBe(Date.parse(view.finishedAt!) - Date.parse(view.startedAt!));
  }, 180_000);

  it("cancels: a queued job at once, a running rebuild at its next page (deleting its new index), a finished job not at all", async () => {
    const live = await aliasTargets(alias);
    const queued = await services.jobs.start("reimport", source.name, { mode: "rebuild" });
    expect((await services.jobs.cancel(queued.id)).state).toBe("cancelled");
    expect((await services.jobs.runChunk(queued.id, 10_000)).ran).toBe(false);

    const running = await services.jobs.start("reimport", source.name, { mode: "rebuild" });
    let job = (await services.jobs.runChunk(running.id, 60_000, { maxPages: 1 })).job!;
    expect(job).toMatchObject({ state: "running", scanned: PAGE });
    const target = job.targetIndex!;
    expect(await source.elastic.indices.exists({ index: target })).toBe(true);

    job = await services.jobs.cancel(running.id);
    expect(job).toMatchObject({ state: "running", cancelRequested: true });
    job = (await services.jobs.runChunk(running.id, 60_000)).job!;
    expect(job).toMatchObject({ state: "cancelled", scanned: PAGE });
    expect(await source.elastic.indices.exists({ index: target })).toBe(false);
    expect(await aliasTargets(alias)).toEqual(live);
    expect(await extraTargets()).toEqual([]);

    await expect(services.jobs.cancel(running.id)).rejects.toMatchObject({ code: "job_finished", status: 409 });
    // The slot is free again.
    const next = await services.jobs.start("reimport", source.name);
    await services.jobs.cancel(next.id);
  }, 120_000);

  it("a runner that died between the last page's commit and the next step's goes on to the swap instead of scanning again", async () => {
    // The tests before changed the container; a chunk of exactly its pages stops before the swap.
    const count = (await source.container.items.readAll().fetchAll()).resources.length;
    const pages = Math.ceil(count / PAGE);
    const started = (await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id;
    let job = (await services.jobs.runChunk(started, 60_000, { maxPages: pages })).job!;
    expect(job).toMatchObject({ state: "running", phase: "swap", scanned: count, pages });
    // What such a runner leaves: the last page committed (no continuation: the scan is complete),
    // the phase still "scan".
    const jobKey = jobKeys(source.config.redis.keyPrefix, source.name).job(started);
    await services.clients.redis.hset(jobKey, "phase", "scan");
    expect(await services.jobs.get(started)).toMatchObject({ phase: "scan", continuation: undefined });

    job = await runToEnd(services, started);
    expect(job).toMatchObject({ state: "succeeded", scanned: count, indexed: count, pages });
    expect(await aliasTargets(alias)).toEqual([job.targetIndex]);
  }, 120_000);

  it("a runner that died in prepare: an index it created but never recorded goes, one it recorded is completed", async () => {
    const [configured] = source.config.sources;
    const jobKey = (id: string) => jobKeys(source.config.redis.keyPrefix, source.name).job(id);

    // Died between the create (which puts the rebuild alias on the index) and recording it.
    // Named as driftless names its index versions: a rebuild deletes only indexes it made.
    const leftover = indexVersionName(alias, new Date(Date.UTC(2021, 0, 1)));
    await source.elastic.indices.create({
      index: leftover,
      aliases: { [rebuildAlias(alias)]: { is_write_index: true } },
    });
    const first = (await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id;
    let job = (await services.jobs.runChunk(first, 60_000, { maxPages: 1 })).job!;
    expect(job).toMatchObject({ state: "running", phase: "scan", scanned: PAGE });
    expect(await source.elastic.indices.exists({ index: leftover })).toBe(false);
    expect(await aliasTargets(rebuildAlias(alias))).toEqual([job.targetIndex]);
    job = await services.jobs.cancel(first);
    expect((await services.jobs.runChunk(first, 60_000)).job).toMatchObject({ state: "cancelled" });

    // Recorded an index created bare (as an earlier driftless did, adding settings and alias after).
    const bare = await createIndexVersion(source.elastic, {
      alias,
      mapping: configured!.mapping,
      settings: configured!.settings,
    });
    const second = (await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id;
    await services.clients.redis.hset(jobKey(second), "targetIndex", bare, "targetAlias", rebuildAlias(alias));
    job = (await services.jobs.runChunk(second, 60_000, { maxPages: 1 })).job!;
    expect(job).toMatchObject({ state: "running", phase: "scan", targetIndex: bare, scanned: PAGE });
    expect(await aliasTargets(rebuildAlias(alias))).toEqual([bare]);
    expect(await indexSettings(bare)).toMatchObject({ refresh_interval: "-1", number_of_replicas: "0" });
    job = await runToEnd(services, second);
    expect(job).toMatchObject({ state: "succeeded", targetIndex: bare });
    expect(await aliasTargets(alias)).toEqual([bare]);
    expect(await aliasTargets(rebuildAlias(alias))).toEqual([]);
  }, 120_000);

  it("a live write racing the end of a rebuild still reaches the index that goes live", async () => {
    // Its own alias pair, so the other tests' indexes are not involved.
    const live = `${alias}-race`;
    // Named as driftless names its versions: a swap replaces only those.
    const [oldIndex, newIndex] = [
      indexVersionName(live, new Date(Date.UTC(2021, 0, 1))),
      indexVersionName(live, new Date(Date.UTC(2021, 0, 2))),
    ];
    await source.elastic.indices.create({ index: oldIndex, aliases: { [live]: { is_write_index: true } } });
    await source.elastic.indices.create({ index: newIndex, aliases: { [rebuildAlias(live)]: {} } });
    const targets = createWriteTargets(services.clients.redis, `${source.config.redis.keyPrefix}-race`);
    await targets.publish(source.name, rebuildAlias(live));
    try {
      // The rebuild ends right after the batch's first bulk request, as finishRebuild ends it:
      // the swap (which retires the rebuild alias in the same request), then the withdrawal.
      const bulk = createBulkSink(source.elastic);
      let ended = false;
      const sink: Sink = {
        async write(target, ops) {
          const outcomes = await bulk.write(target, ops);
          if (!ended) {
            ended = true;
            await swapAlias(source.elastic, live, newIndex, rebuildAlias(live));
            await targets.withdraw(source.name, rebuildAlias(live));
          }
          return outcomes;
        },
      };
      const op = {
        action: "index",
        member: '["race-1","t"]',
        id: "race-1",
        version: 1_800_000_000,
        document: { title: "newest" },
      } as const;
      const outcomes = await withExtraTargets(sink, targets, source.name).write(live, [op]);
      expect(outcomes.map((outcome) => outcome.outcome)).toEqual(["ok"]);
      expect(await source.elastic.get({ index: live, id: "race-1" })).toMatchObject({
        _index: newIndex,
        _version: 1_800_000_000,
        _source: { title: "newest" },
      });
    } finally {
      await source.elastic.indices.delete({ index: [oldIndex, newIndex], ignore_unavailable: true });
    }
  }, 60_000);

  it("reconcile removes documents that were deleted in Cosmos while capture was stopped", async () => {
    await sync();
    const indexedBefore = (await source.indexed()).size;
    // Deleted in Cosmos, never enqueued: only the reconcile can find them.
    const gone = docs.filter((_, i) => i % 75 === 3); // 40 documents
    for (const doc of gone) await retrying(() => source.container.item(doc.id, doc.tenant).delete());
    expect((await source.indexed()).has(gone[0]!.id)).toBe(true);

    const job = await runToEnd(services, (await services.jobs.start("reconcile", source.name)).id);
    expect(job).toMatchObject({
      state: "succeeded",
      scanned: indexedBefore,
      missing: gone.length,
      enqueued: gone.length,
      errors: 0,
    });
    expect(job.pages).toBe(Math.ceil(indexedBefore / 700));

    await sync();
    const indexed = await source.indexed();
    expect(indexed.size).toBe(indexedBefore - gone.length);
    for (const doc of gone) expect(indexed.has(doc.id)).toBe(false);
    expect(await differences(source)).toEqual([]);
  }, 120_000);

  it("applies a mapping the live index cannot take in place through a rebuild, with the sync and jobs up meanwhile", async () => {
    const live = await aliasTargets(alias);
    const [configured] = source.config.sources;
    // integer → keyword: Elasticsearch refuses the change on the existing index.
    const mapping = {
      properties: { ...(configured!.mapping.properties as Record<string, unknown>), n: { type: "keyword" } },
    };
    const changed = createServices({ ...source.config, sources: [{ ...configured!, mapping }] }, silentLogger);
    try {
      const incompatible = await changed.ensureIndexes();
      expect(incompatible.map((error) => error.code)).toEqual(["elastic_mapping_incompatible"]);
      expect(await aliasTargets(alias)).toEqual(live); // untouched, still written by the sync

      const job = await runToEnd(changed, (await changed.jobs.start("reimport", source.name, { mode: "rebuild" })).id);
      expect(job).toMatchObject({ state: "succeeded", mode: "rebuild" });
      const [index] = await aliasTargets(alias);
      expect(index).not.toBe(live[0]);
      const applied = await source.elastic.indices.getMapping({ index: alias });
      expect(applied[index!]!.mappings.properties!.n).toMatchObject({ type: "keyword" });
      expect(await changed.ensureIndexes()).toEqual([]);
      expect(await differences(source)).toEqual([]);
    } finally {
      await changed.close();
    }
  }, 120_000);

  it("fails a reimport whose alias does not exist, with the reason, and frees the source for the next job", async () => {
    const bare = await createTestSource(); // no ensureIndexes: the alias was never created
    const bareServices = createServices(bare.config, silentLogger);
    try {
      await createDocuments(bare.container, makeDocs(5));
      const job = await runToEnd(bareServices, (await bareServices.jobs.start("reimport", bare.name)).id);
      expect(job).toMatchObject({ state: "failed", scanned: 0, lastError: expect.stringContaining("no alias") });
      expect(await bareServices.jobs.activeJobIds()).toEqual([]);
      const next = await bareServices.jobs.start("reimport", bare.name);
      await bareServices.jobs.cancel(next.id);
    } finally {
      await bareServices.close();
      await bare.dispose();
    }
  }, 60_000);
});

async function runToEnd(services: Services, jobId: string): Promise<Job> {
  return eventually(
    async () => {
      const { job } = await services.jobs.runChunk(jobId, 60_000);
      if (!job || !isTerminal(job.state)) throw new Error(`job ${jobId} is ${job?.state}`);
      return job;
    },
    { timeoutMs: 150_000, intervalMs: 100 },
  );
}
