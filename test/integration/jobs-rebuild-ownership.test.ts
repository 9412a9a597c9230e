import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexVersionName } from "../../shared/elastic/index-names.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

/**
 * A rebuild deletes the index versions driftless made behind the alias, and nothing an operator
 * put there: real Elasticsearch, emulator and Redis.
 */
describe("rebuild and indexes driftless did not create", () => {
  let source: TestSource;
  let services: Services;
  let alias: string;

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger);
    alias = source.config.sources[0]!.index;
    await services.ensureIndexes();
    await createDocuments(source.container, makeDocs(20));
  });

  afterAll(async () => {
    await services?.close();
    await source?.elastic.indices
      .delete({ index: `${alias}-operator-archive`, ignore_unavailable: true })
      .catch(() => undefined);
    await source?.dispose();
  });

  const aliasTargets = async (name: string) =>
    Object.keys(await source.elastic.indices.getAlias({ name }).catch(() => ({}))).sort();
  const exists = (index: string) => source.elastic.indices.exists({ index });

  it("marks the index versions it creates as its own in the mapping's _meta", async () => {
    const [index] = await aliasTargets(alias);
    const mapping = await source.elastic.indices.getMapping({ index: index! });
    expect(mapping[index!]!.mappings._meta).toMatchObject({ driftless: { alias } });
  });

  it("keeps an operator's index attached to the alias, deletes only its own old versions, and writes to the new one", async () => {
    const [driftlessIndex] = await aliasTargets(alias);
    // An operator's index, searched through the alias beside driftless's.
    const archive = `${alias}-operator-archive`;
    await source.elastic.indices.create({ index: archive, aliases: { [alias]: { is_write_index: false } } });
    await source.elastic.index({
      index: archive,
      id: "archived-1",
      document: { title: "from the archive" },
      refresh: true,
    });
    // An index version an earlier driftless created (before the _meta mark), attached by hand
    // the way a restore from a snapshot would: named as driftless names them, so it is driftless's.
    const legacy = indexVersionName(alias, new Date(Date.UTC(2020, 0, 1)));
    await source.elastic.indices.create({ index: legacy, aliases: { [alias]: { is_write_index: false } } });
    expect(await aliasTargets(alias)).toEqual([driftlessIndex, archive, legacy].sort());

    const job = await runToEnd(services, (await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id);
    expect(job).toMatchObject({ state: "succeeded", scanned: 20, indexed: 20 });

    expect(await exists(archive)).toBe(true);
    expect(await exists(driftlessIndex!)).toBe(false);
    expect(await exists(legacy)).toBe(false);
    expect(await aliasTargets(alias)).toEqual([job.targetIndex, archive].sort());
    const aliases = await source.elastic.indices.getAlias({ name: alias });
    expect(aliases[job.targetIndex!]!.aliases[alias]).toMatchObject({ is_write_index: true });
    await source.elastic.indices.refresh({ index: alias });
    expect((await source.elastic.count({ index: alias })).count).toBe(21);

    // A second rebuild leaves it where it is too.
    const again = await runToEnd(
      services,
      (await services.jobs.start("reimport", source.name, { mode: "rebuild" })).id,
    );
    expect(again).toMatchObject({ state: "succeeded" });
    expect(await exists(archive)).toBe(true);
    expect(await exists(job.targetIndex!)).toBe(false);
    expect(await aliasTargets(alias)).toEqual([again.targetIndex, archive].sort());
  }, 120_000);
});

async function runToEnd(services: Services, jobId: string): Promise<Job> {
  return eventually(
    async () => {
      const { job } = await services.jobs.runChunk(jobId, 30_000);
      if (!job || !isTerminal(job.state)) throw new Error(`job ${jobId} is ${job?.state}`);
      return job;
    },
    { timeoutMs: 90_000, intervalMs: 100 },
  );
}
