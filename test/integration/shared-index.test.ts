import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localOperations } from "../../cli/operations/local.js";
import { loadConfig } from "../../shared/config/index.js";
import { createDependentsSearch } from "../../shared/elastic/dependents.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { runJobToEnd } from "../setup/jobs.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { syncUntil as drainUntil } from "../setup/sync-until.js";

/**
 * Two containers, one alias (`sharedIndex`): `first` with the default id prefix (`<source>:`),
 * `second` with its own (`other/`). Both containers hold a document with id "42".
 */
let first: TestSource;
let second: TestSource;
let services: Services;
let alias: string;

beforeAll(async () => {
  first = await createTestSource();
  second = await createTestSource();
  const [a] = JSON.parse(first.env.DRIFTLESS_SOURCES!) as Record<string, unknown>[];
  const [b] = JSON.parse(second.env.DRIFTLESS_SOURCES!) as Record<string, unknown>[];
  alias = a!.index as string;
  const sources = [
    { ...a, sharedIndex: true },
    { ...b, index: alias, sharedIndex: { idPrefix: "other/" } },
  ];
  services = createServices(
    loadConfig({ ...first.env, DRIFTLESS_SOURCES: JSON.stringify(sources), RECONCILE_MAX_DELETE_SHARE: "1" }),
    silentLogger,
  );
  await services.ensureIndexes();
}, 120_000);

afterAll(async () => {
  await services?.close();
  await first?.dispose();
  await second?.dispose();
});

/** Every entry behind the shared alias: `_id` → the source it carries. */
async function entries(): Promise<Record<string, unknown>> {
  await first.elastic.indices.refresh({ index: alias });
  const result = await first.elastic.search<{ driftless?: { source?: string } }>({ index: alias, size: 1000 });
  return Object.fromEntries(result.hits.hits.map((hit) => [hit._id!, hit._source?.driftless?.source]));
}

const syncUntil = (source: TestSource, done: () => Promise<void>) =>
  drainUntil(services.sources.get(source.name)!.sync, done);

const enqueue = (source: TestSource, id: string) =>
  services.sources.get(source.name)!.queue.enqueue([{ id, pk: "t" }], { lane: "live", now: Date.now() });

describe("several containers, one index", () => {
  it("keeps the same Cosmos id of two containers as two entries, qualified and tagged by source", async () => {
    await first.container.items.upsert({ id: "42", tenant: "t", title: "first" });
    await second.container.items.upsert({ id: "42", tenant: "t", title: "second" });
    await enqueue(first, "42");
    await enqueue(second, "42");
    await syncUntil(first, async () => expect(Object.keys(await entries())).toContain(`${first.name}:42`));
    await syncUntil(second, async () =>
      expect(await entries()).toEqual({ [`${first.name}:42`]: first.name, "other/42": second.name }),
    );
  });

  it("deletes only the deleting source's entry", async () => {
    await first.container.item("42", "t").delete();
    await enqueue(first, "42");
    await syncUntil(first, async () => expect(await entries()).toEqual({ "other/42": second.name }));
    await first.container.items.upsert({ id: "42", tenant: "t", title: "first again" });
    await enqueue(first, "42");
    await syncUntil(first, async () =>
      expect(Object.keys(await entries()).sort()).toEqual([`${first.name}:42`, "other/42"].sort()),
    );
  });

  it("reconciles one source against its own entries only: its orphans go, the other source's entries stay", async () => {
    // Entries the second source wrote for documents its container no longer has... and that the
    // first source's container never had: the first source's reconcile must not touch them.
    for (const id of ["gone-1", "gone-2"]) {
      await second.container.items.upsert({ id, tenant: "t", title: id });
      await enqueue(second, id);
    }
    await syncUntil(second, async () => expect(Object.keys(await entries())).toHaveLength(4));
    for (const id of ["gone-1", "gone-2"]) await second.container.item(id, "t").delete();
    // And an orphan of the first source's own.
    await first.elastic.bulk({
      operations: [
        { index: { _index: alias, _id: `${first.name}:orphan` } },
        { title: "orphan", driftless: { key: JSON.stringify(["orphan", "t"]), source: first.name } },
      ],
      refresh: true,
    });

    const job = await runJobToEnd(services, "reconcile", first.name, 60_000);
    // Only its own two entries were scanned; none of the second's counted as foreign (errors).
    expect(job, job.lastError).toMatchObject({ state: "succeeded", scanned: 2, missing: 1, errors: 0 });
    await syncUntil(first, async () => expect(Object.keys(await entries())).not.toContain(`${first.name}:orphan`));
    expect(Object.keys(await entries()).sort()).toEqual(
      [`${first.name}:42`, "other/42", "other/gone-1", "other/gone-2"].sort(),
    );

    // The second source's own reconcile finds its two orphans.
    const own = await runJobToEnd(services, "reconcile", second.name, 60_000);
    expect(own).toMatchObject({ state: "succeeded", scanned: 3, missing: 2, errors: 0 });
    await syncUntil(second, async () =>
      expect(Object.keys(await entries()).sort()).toEqual([`${first.name}:42`, "other/42"].sort()),
    );
  });

  it("reimports one source in place without touching the other's entries", async () => {
    await first.container.items.upsert({ id: "43", tenant: "t", title: "scanned" });
    const job = await runJobToEnd(services, "reimport", first.name, 60_000);
    expect(job).toMatchObject({ state: "succeeded", scanned: 2, indexed: 2 });
    expect(await entries()).toEqual({
      [`${first.name}:42`]: first.name,
      [`${first.name}:43`]: first.name,
      "other/42": second.name,
    });
    // What `driftless reimport` shows as each source's document count: its own entries.
    const operations = localOperations(services);
    expect([await operations.documentCount(first.name), await operations.documentCount(second.name)]).toEqual([2, 1]);
  });

  it("refuses a rebuild of a source that shares its index, with a clear error, and starts no job", async () => {
    await expect(services.jobs.start("reimport", second.name, { mode: "rebuild" })).rejects.toMatchObject({
      code: "rebuild_shared_index",
      status: 409,
      message: expect.stringMatching(/shares index ".+" with other sources, and a rebuild would drop their documents/),
    });
    expect(Object.keys(await entries())).toHaveLength(3);
    // No rebuild job was queued: the source can still start a reimport in place.
    const inPlace = await services.jobs.start("reimport", second.name);
    expect(inPlace).toMatchObject({ kind: "reimport", mode: "in-place" });
    await services.jobs.cancel(inPlace.id);
  });

  it("finds a relation's dependents through the index among the source's own entries only", async () => {
    await first.container.items.upsert({ id: "50", tenant: "t", customerId: "c1" });
    await second.container.items.upsert({ id: "51", tenant: "t", customerId: "c1" });
    await enqueue(first, "50");
    await enqueue(second, "51");
    await syncUntil(first, async () => expect(Object.keys(await entries())).toContain(`${first.name}:50`));
    await syncUntil(second, async () => expect(Object.keys(await entries())).toContain("other/51"));
    const client = services.clients.search.forTarget(undefined);
    const ids = async (sharedSource?: string) =>
      (await createDependentsSearch(client, alias, "customerId.keyword", sharedSource).find(["c1"])).map(
        (key) => key.id,
      );
    // Without the source filter the other source's entry would be enqueued on this source's queue.
    expect((await ids()).sort()).toEqual(["50", "51"]);
    expect(await ids(first.name)).toEqual(["50"]);
    expect(await ids(second.name)).toEqual(["51"]);
  });
});
