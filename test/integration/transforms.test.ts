import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKey } from "../../shared/core/keys.js";
import { createBulkSink } from "../../shared/elastic/index.js";
import { runJobLoop } from "../../shared/jobs/loop.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { retrying } from "../setup/documents.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { uniqueName } from "../setup/services.js";

const MODULE = fileURLToPath(new URL("../fixtures/transforms/orders.js", import.meta.url));
const TENANTS = ["t0", "t1", "t2", "t3"];

interface Order {
  id: string;
  tenant: string;
  title: string;
  status: string;
  lines: { sku: string }[];
  customer: { name: string; secret: string };
  meta: { visible: boolean; audit: { by: string } };
  explode?: boolean;
}

function order(i: number | string, changes: Partial<Order> = {}): Order {
  const n = typeof i === "number" ? i : 99;
  return {
    id: `o${i}`,
    tenant: TENANTS[n % TENANTS.length]!,
    title: `desk ${i}`,
    status: "open",
    lines: Array.from({ length: (n % 3) + 1 }, (_, k) => ({ sku: `s${k}` })),
    customer: { name: `Ada ${i}`, secret: "card 4111" },
    meta: { visible: true, audit: { by: `u${i}` } },
    ...changes,
  };
}

/**
 * What the index must hold for an order the source keeps: written out here, independently of the
 * mapper: the module's reshaping (orders.js), then exclude `customer.secret`, rename
 * `meta.audit.by` to `audit.author`, and include.
 */
function expectedSource(doc: Order, source: string): Record<string, unknown> {
  return {
    id: doc.id,
    tenant: doc.tenant,
    status: doc.status,
    title: doc.title.toUpperCase(),
    summary: `${doc.tenant}/${doc.id} in ${source}`,
    lineCount: doc.lines.length,
    customer: { name: doc.customer.name },
    audit: { author: doc.meta.audit.by },
    meta: { visible: true },
  };
}

/**
 * A source with a transform module, nested include/exclude/rename, a filter, routing by partition
 * key over several shards and an ingest pipeline, against the real emulator, Elasticsearch and
 * Redis, through the sync, an in-place reimport and a rebuild.
 */
describe("source transforms", () => {
  const pipeline = uniqueName("orders-in");
  let source: TestSource;
  let services: Services;
  let alias: string;
  /** What Cosmos holds for each order id, as this test last wrote it. */
  const cosmos = new Map<string, Order>();

  beforeAll(async () => {
    source = await createTestSource({
      extra: {
        documentId: "partitionKeyAndId",
        routing: "partitionKey",
        pipeline,
        // Several shards: a delete sent without the write's routing would look on another shard.
        settings: { number_of_shards: 4, number_of_replicas: 0 },
        filter: { field: "meta.visible", equals: true },
        transform: {
          module: MODULE,
          exclude: ["customer.secret"],
          rename: { "meta.audit.by": "audit.author" },
          include: ["tenant", "status", "title", "summary", "lineCount", "customer", "audit", "meta.visible"],
        },
      },
    });
    alias = source.config.sources[0]!.index;
    // The pipeline the source names, created here. The test cluster is Elasticsearch's minimal
    // distribution (scripts/stack/elasticsearch-dist.ts), whose only processor is
    // set_security_user (no ingest-common: no `set`, no painless); without security it cannot set
    // a user, so it is told to ignore that. What shows the pipeline ran is Elasticsearch's own count
    // of the documents it took through the pipeline (pipelineRuns).
    await source.elastic.ingest.putPipeline({
      id: pipeline,
      processors: [{ set_security_user: { field: "user", ignore_failure: true } }],
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.elastic.ingest.deletePipeline({ id: pipeline }).catch(() => undefined);
    await source?.dispose();
  });

  /** Documents Elasticsearch has taken through the source's pipeline (its ingest statistics). */
  async function pipelineRuns(): Promise<number> {
    const stats = await source.elastic.nodes.stats({ metric: "ingest" });
    return Object.values(stats.nodes).reduce((n, node) => n + (node.ingest?.pipelines?.[pipeline]?.count ?? 0), 0);
  }

  const queue = () => services.sources.get(source.name)!.queue;
  const keyOf = (doc: Order) => ({ id: doc.id, pk: doc.tenant });
  const sync = () => runSyncPass(services, { budgetMs: 60_000, untilIdle: true });

  async function write(docs: readonly Order[], options: { enqueue: boolean }) {
    for (const doc of docs) {
      await retrying(() => source.container.items.upsert(doc));
      cosmos.set(doc.id, doc);
    }
    if (options.enqueue) await queue().enqueue(docs.map(keyOf), { lane: "live", now: Date.now() });
  }

  /** Every entry behind the alias: its _id, _routing and source without driftless's metadata. */
  async function entries() {
    await source.elastic.indices.refresh({ index: alias });
    const result = await source.elastic.search<Record<string, unknown>>({ index: alias, size: 1000 });
    return new Map(
      result.hits.hits.map((hit) => {
        const { driftless: _metadata, ...rest } = hit._source!;
        return [hit._id!, { routing: hit._routing, source: rest }];
      }),
    );
  }

  /** The index holds exactly the kept orders, each reshaped, routed by its tenant and through the pipeline. */
  async function expectIndexed(kept: readonly string[]) {
    const expected = new Map(
      kept.map((id) => {
        const doc = cosmos.get(id)!;
        return [
          `${JSON.stringify(doc.tenant)}:${id}`,
          { routing: doc.tenant, source: expectedSource(doc, source.name) },
        ];
      }),
    );
    expect(await entries()).toEqual(expected);
  }

  async function expectDeadLetter(doc: Order) {
    const letters = await queue().listDeadLetters({ limit: 100 });
    const letter = letters.find((entry) => entry.member === encodeKey(keyOf(doc)));
    expect(letter).toMatchObject({
      reason: "transform failed",
      lastError: `transform threw: Error: order ${doc.id} cannot be shipped: explode is set`,
    });
  }

  /** Seconds later than every `_ts` written so far: an update must carry a newer external version. */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

  async function runReimport(mode: "in place" | "rebuild"): Promise<Job> {
    const stop = new AbortController();
    const loop = runJobLoop(services.jobs, { pollMs: 50, logger: silentLogger, signal: stop.signal });
    try {
      let job: Job | undefined = await services.jobs.start(
        "reimport",
        source.name,
        mode === "rebuild" ? { mode: "rebuild" } : {},
      );
      const deadline = Date.now() + 120_000;
      while (job && !isTerminal(job.state) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        job = await services.jobs.get(job.id);
      }
      return job!;
    } finally {
      stop.abort();
      await loop;
    }
  }

  const goodIds = Array.from({ length: 12 }, (_, i) => `o${i}`);
  let kept: string[] = [];

  it("sync: reshapes and routes the documents, keeps out a skipped and a filtered one, and dead-letters the one whose transform throws while the rest of the batch is indexed", async () => {
    const docs = [
      ...goodIds.map((_, i) => order(i)),
      order("draft", { status: "draft" }),
      order("hidden", { meta: { visible: false, audit: { by: "u" } } }),
      order("boom", { explode: true }),
    ];
    await write(docs, { enqueue: true });
    kept = [...goodIds];
    const runs = await pipelineRuns();
    const report = await sync();
    // One batch: the failing transform dead-letters its key and nothing else.
    expect(report[source.name]).toMatchObject({ batches: 1, indexed: goodIds.length, deleted: 2, deadLettered: 1 });
    // One pipeline run per indexed document, none for the skipped, filtered or failed ones.
    expect((await pipelineRuns()) - runs).toBe(goodIds.length);
    await expectIndexed(kept);
    await expectDeadLetter(cosmos.get("oboom")!);
  });

  it("sync: a document the transform now skips, or the filter now refuses, is deleted from the index at its routing", async () => {
    await nextSecond();
    const skipped = ["o0", "o1", "o2"];
    const filtered = ["o3", "o4", "o5"];
    await write(
      [
        ...skipped.map((id) => ({ ...cosmos.get(id)!, status: "draft" })),
        ...filtered.map((id) => ({ ...cosmos.get(id)!, meta: { visible: false, audit: { by: "x" } } })),
        { ...cosmos.get("o6")!, title: "chair 6" },
      ],
      { enqueue: true },
    );
    await sync();
    kept = kept.filter((id) => !skipped.includes(id) && !filtered.includes(id));
    await expectIndexed(kept);
    expect((await entries()).get('"t2":o6')?.source.title).toBe("CHAIR 6");
  });

  it("in-place reimport: the same transform, filter, routing and pipeline; a throw goes to the sync and is dead-lettered", async () => {
    await nextSecond();
    // Changed in Cosmos without telling the queue: only the reimport's scan sees these.
    await write(
      [
        { ...cosmos.get("o7")!, status: "draft" },
        { ...cosmos.get("o8")!, title: "lamp 8" },
        order(20),
        order(21, { meta: { visible: false, audit: { by: "u" } } }),
        order("boom2", { explode: true }),
      ],
      { enqueue: false },
    );
    const runs = await pipelineRuns();
    const job = await runReimport("in place");
    expect(job.state).toBe("succeeded");
    const ran = (await pipelineRuns()) - runs;
    // The document the transform refused was handed to the sync, which dead-letters it with its reason.
    await sync();
    kept = [...kept.filter((id) => id !== "o7"), "o20"];
    await expectIndexed(kept);
    // Every document the scan indexed went through the pipeline, those the index already had at
    // that version too: Elasticsearch runs the pipeline before it compares versions.
    expect(ran).toBeGreaterThanOrEqual(kept.length);
    await expectDeadLetter(cosmos.get("oboom2")!);
  });

  it("rebuild: the new index is filled through the same transform, routing and pipeline", async () => {
    const before = Object.keys(await source.elastic.indices.getAlias({ name: alias }));
    await write([{ ...cosmos.get("o9")!, meta: { visible: false, audit: { by: "x" } } }, order(30)], {
      enqueue: false,
    });
    const runs = await pipelineRuns();
    const job = await runReimport("rebuild");
    expect(job.state).toBe("succeeded");
    const ran = (await pipelineRuns()) - runs;
    await sync();
    const after = Object.keys(await source.elastic.indices.getAlias({ name: alias }));
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    kept = [...kept.filter((id) => id !== "o9"), "o30"];
    await expectIndexed(kept);
    expect(ran).toBeGreaterThanOrEqual(kept.length);
  });

  it("a pipeline that does not exist refuses the item: the key is dead-lettered with Elasticsearch's reason", async () => {
    const missing = uniqueName("no-such-pipeline");
    const [outcome] = await createBulkSink(source.elastic, { refresh: "wait_for" }).write(alias, [
      {
        action: "index",
        member: encodeKey({ id: "o40", pk: "t0" }),
        id: '"t0":o40',
        version: 1,
        routing: "t0",
        pipeline: missing,
        document: { id: "o40", title: "x" },
      },
    ]);
    expect(outcome).toMatchObject({ outcome: "dead" });
    expect(outcome!.outcome === "dead" && outcome!.error).toContain(missing);
    expect((await entries()).has('"t0":o40')).toBe(false);
  });
});
