import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { ConfigError } from "../../shared/core/errors.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { syncBatch } from "../../shared/sync/engine.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const API_KEY = "tracing-test-key-0123456789";
const TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";
const traceparent = (traceId: string, spanId = CALLER_SPAN_ID) => `00-${traceId}-${spanId}-01`;
const ENQUEUE_ROUTE = "/api/sources/{source}/enqueue";

/** Creates documents in Cosmos, 16 at a time (the emulator is slow one by one). */
async function createDocs(source: TestSource, docs: readonly Record<string, unknown>[]) {
  for (let i = 0; i < docs.length; i += 16)
    await Promise.all(docs.slice(i, i + 16).map((doc) => source.container.items.create(doc)));
}

const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const sum = (spans: readonly ReadableSpan[], attribute: string) =>
  spans.reduce((n, span) => n + Number(span.attributes[attribute] ?? 0), 0);
const childrenOf = (spans: readonly ReadableSpan[], parent: ReadableSpan) =>
  spans.filter(
    (span) =>
      span.parentSpanContext?.spanId === parent.spanContext().spanId &&
      span.spanContext().traceId === parent.spanContext().traceId,
  );

describe("traces of an end-to-end run (in-memory exporter)", () => {
  const N = 40;
  const DELETED = 8;
  const memory = new InMemorySpanExporter();
  let source: TestSource;
  let worker: WorkerHandle;
  const ids = Array.from({ length: N }, (_, i) => `doc-${i}`);
  const enqueue = (body: string, headers: Record<string, string>) =>
    fetch(`${worker.url}/sources/${source.name}/enqueue`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  beforeAll(async () => {
    source = await createTestSource({ env: { REIMPORT_PAGE_SIZE: "10" } });
    // Capture off: keys come from the HTTP producer alone, so the counts are exact. Batches of 25
    // with bulk bodies of at most 1 KB: every batch takes several bulk requests.
    const config = loadConfig({
      ...source.env,
      WORKER_PORT: "0",
      DRIFTLESS_API_KEY: API_KEY,
      SYNC_BATCH_SIZE: "25",
      SYNC_BATCH_MAX_BYTES: "1024",
      CAPTURE_ENABLED: "false",
      JOBS_POLL_MS: "100",
    });
    worker = await startWorker(config, {
      logger: silentLogger,
      spanExports: [{ name: "memory", exporter: memory, delivery: "simple" }],
    });
    await createDocs(
      source,
      ids.map((id, i) => ({ id, tenant: `t${i % 4}`, title: `secret title ${i}`, n: i })),
    );
    // Gone from Cosmos before the sync reads them: these keys become deletes.
    await Promise.all(ids.slice(0, DELETED).map((id, i) => source.container.item(id, `t${i % 4}`).delete()));

    const response = await enqueue(JSON.stringify({ items: ids.map((id, i) => ({ id, pk: `t${i % 4}` })) }), {
      "x-functions-key": API_KEY,
      traceparent: traceparent(TRACE_ID),
      tracestate: "vendor=abc",
    });
    expect(response.status).toBe(202);
    await eventually(async () => expect((await source.indexed()).size).toBe(N - DELETED), { timeoutMs: 60_000 });
    // The last batch settles (and ends its span) a moment after its writes are searchable.
    await eventually(async () =>
      expect(sum(named(memory.getFinishedSpans(), "driftless.sync.batch"), "driftless.keys.claimed")).toBe(N),
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  it("has one span per batch whose counts add up to the work done", () => {
    const batches = named(memory.getFinishedSpans(), "driftless.sync.batch");
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(sum(batches, "driftless.keys.claimed")).toBe(N);
    expect(sum(batches, "driftless.keys.indexed")).toBe(N - DELETED);
    expect(sum(batches, "driftless.keys.deleted")).toBe(DELETED);
    for (const counter of ["retried", "dead_lettered", "released"])
      expect(sum(batches, `driftless.keys.${counter}`), counter).toBe(0);
    for (const batch of batches) {
      expect(batch.attributes["driftless.source"]).toBe(source.name);
      expect(batch.status.code).toBe(SpanStatusCode.UNSET);
      // Worker mode's drain loop: every batch is a trace of its own.
      expect(batch.parentSpanContext).toBeUndefined();
    }
  });

  it("gives every batch its claim, read, bulk and settle children, in the batch's trace and under it", () => {
    const spans = memory.getFinishedSpans();
    let bulkRequests = 0;
    for (const batch of named(spans, "driftless.sync.batch")) {
      const children = childrenOf(spans, batch);
      const claimed = batch.attributes["driftless.keys.claimed"];
      const one = (name: string) => {
        const found = named(children, name);
        expect(found, name).toHaveLength(1);
        return found[0]!;
      };
      expect(one("driftless.queue.claim").attributes).toMatchObject({
        "driftless.keys": claimed,
        "db.system.name": "redis",
      });
      expect(one("driftless.cosmos.read").attributes).toMatchObject({
        "driftless.keys": claimed,
        "driftless.errors": 0,
        "db.system.name": "azure.cosmosdb",
      });
      expect(one("driftless.queue.settle").kind).toBe(SpanKind.CLIENT);
      const bulks = named(children, "driftless.elasticsearch.bulk");
      expect(bulks.length).toBeGreaterThanOrEqual(1);
      bulkRequests += bulks.length;
      // Every claimed key was written (indexed or deleted) in one of the batch's bulk requests.
      expect(sum(bulks, "driftless.bulk.docs")).toBe(claimed);
      expect(sum(bulks, "driftless.bulk.errors")).toBe(0);
      for (const bulk of bulks) {
        expect(bulk.kind).toBe(SpanKind.CLIENT);
        expect(bulk.attributes["driftless.bulk.bytes"]).toBeGreaterThan(0);
        // Chunks stay within SYNC_BATCH_MAX_BYTES (a single larger document would go alone).
        expect(bulk.attributes["driftless.bulk.bytes"]).toBeLessThanOrEqual(1024);
      }
      for (const child of children) {
        expect(child.spanContext().traceId).toBe(batch.spanContext().traceId);
        expect(child.status.code, child.name).toBe(SpanStatusCode.UNSET);
      }
    }
    expect(bulkRequests).toBeGreaterThan(named(spans, "driftless.sync.batch").length);
  });

  it("continues the caller's traceparent in the enqueue request's server span", () => {
    const [server, ...more] = memory.getFinishedSpans().filter((span) => span.spanContext().traceId === TRACE_ID);
    expect(more).toEqual([]);
    expect(server).toMatchObject({
      name: `POST ${ENQUEUE_ROUTE}`,
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": "POST", "http.route": ENQUEUE_ROUTE, "http.response.status_code": 202 },
    });
    expect(server!.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: CALLER_SPAN_ID, isRemote: true });
    expect(server!.spanContext().traceState?.get("vendor")).toBe("abc");
    expect(server!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("records refused requests with their 4xx status, and a new trace without a traceparent", async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['{"items":[{"id":"a","pk":"t0"}]}', {}, 401],
      ["{oops", { "x-functions-key": API_KEY }, 400],
    ];
    for (const [i, [body, headers, status]] of cases.entries()) {
      const traceId = `${String(i + 1).repeat(8)}b7ad6b7169203331a3ce929d0e0e4736`.slice(0, 32);
      const response = await enqueue(body, { ...headers, traceparent: traceparent(traceId) });
      expect(response.status).toBe(status);
      await response.arrayBuffer();
      const span = await eventually(async () => {
        const found = memory.getFinishedSpans().filter((candidate) => candidate.spanContext().traceId === traceId);
        expect(found).toHaveLength(1);
        return found[0]!;
      });
      expect(span.name).toBe(`POST ${ENQUEUE_ROUTE}`);
      expect(span.attributes["http.response.status_code"]).toBe(status);
      // The client's error, not the server's: the span is not failed.
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }

    const before = memory.getFinishedSpans().length;
    const missing = await fetch(`${worker.url.replace(/\/api$/, "")}/api/no/such/route`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    const status = await fetch(`${worker.url}/status`);
    expect(status.status).toBe(200);
    await status.arrayBuffer();
    await eventually(async () => {
      const spans = memory.getFinishedSpans().slice(before);
      const notFound = spans.find((span) => span.name === "GET");
      expect(notFound?.attributes).toEqual({ "http.request.method": "GET", "http.response.status_code": 404 });
      const ok = spans.find((span) => span.name === "GET /api/status");
      expect(ok?.attributes["http.response.status_code"]).toBe(200);
      expect(ok?.parentSpanContext).toBeUndefined();
    });
    // Prometheus scrapes are not traced.
    const scrapes = memory.getFinishedSpans().length;
    await (await fetch(worker.url.replace(/\/api$/, "/metrics"))).text();
    expect(memory.getFinishedSpans().length).toBe(scrapes);
  });

  it("has a span per page of a reimport, with the job's id, kind and the documents it read", async () => {
    const response = await fetch(`${worker.url}/sources/${source.name}/reimport`, {
      method: "POST",
      headers: { "x-functions-key": API_KEY },
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    await eventually(async () => expect((await worker.services.jobs.get(jobId))?.state).toBe("succeeded"), {
      timeoutMs: 60_000,
    });
    const job = (await worker.services.jobs.get(jobId))!;
    const pages = await eventually(async () => {
      const found = named(memory.getFinishedSpans(), "driftless.job.page").filter(
        (span) => span.attributes["driftless.job.id"] === jobId,
      );
      expect(found).toHaveLength(job.pages);
      return found;
    });
    expect(job.scanned).toBe(N - DELETED);
    expect(sum(pages, "driftless.job.docs")).toBe(N - DELETED);
    for (const page of pages) {
      expect(page.attributes).toMatchObject({
        "driftless.job.kind": "reimport",
        "driftless.job.mode": "in-place",
        "driftless.source": source.name,
      });
      expect(page.status.code).toBe(SpanStatusCode.UNSET);
    }
    const prepare = named(memory.getFinishedSpans(), "driftless.job.prepare").filter(
      (span) => span.attributes["driftless.job.id"] === jobId,
    );
    expect(prepare).toHaveLength(1);
  }, 120_000);

  it("never puts a secret, a key or a document into an attribute", () => {
    const text = JSON.stringify(
      memory.getFinishedSpans().map((span) => [span.name, span.attributes, span.status, span.events]),
    );
    for (const secret of [API_KEY, source.env.COSMOS_KEY!, "secret title", "doc-1", '"t1"'])
      expect(text).not.toContain(secret);
  });
});

describe("traces of batches that fail", () => {
  const memory = new InMemorySpanExporter();
  let source: TestSource;
  let services: Services;

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger, undefined, {
      spanExports: [{ name: "memory", exporter: memory, delivery: "simple" }],
    });
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  it("fail the batch span and the bulk span when Elasticsearch refuses the request, and count the released keys", async () => {
    const runtime = services.sources.get(source.name)!;
    await source.container.items.create({ id: "r1", tenant: "t", title: "refused", n: 1 });
    await runtime.queue.enqueue(
      [
        { id: "r1", pk: "t" },
        { id: "r2", pk: "t" },
      ],
      { lane: "live", now: Date.now() },
    );
    // A refusal no document can fix (say, credentials revoked): the keys are released, then it is raised.
    const refusing = {
      write: async () => Promise.reject(new ConfigError("ELASTICSEARCH_API_KEY", "refused by elasticsearch")),
    };
    await expect(syncBatch({ ...runtime.sync, sink: refusing })).rejects.toThrow(/refused by elasticsearch/);

    const [batch, ...more] = named(memory.getFinishedSpans(), "driftless.sync.batch");
    expect(more).toEqual([]);
    expect(batch!.status).toMatchObject({
      code: SpanStatusCode.ERROR,
      message: expect.stringMatching(/refused by elasticsearch/),
    });
    expect(batch!.attributes).toMatchObject({
      "driftless.keys.claimed": 2,
      "driftless.keys.released": 2,
      "driftless.keys.indexed": 0,
    });
    const children = childrenOf(memory.getFinishedSpans(), batch!);
    expect(named(children, "driftless.elasticsearch.bulk")[0]!.status.code).toBe(SpanStatusCode.ERROR);
    // The settle still ran, and went well: the keys are back in the queue.
    expect(named(children, "driftless.queue.settle")[0]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(await runtime.queue.stats(Date.now())).toMatchObject({ pending: 2, inflight: 0 });
  });

  it("fail the batch span and its claim span when the claim itself fails", async () => {
    memory.reset();
    const runtime = services.sources.get(source.name)!;
    const queue = { ...runtime.queue, claim: () => Promise.reject(new Error("redis went away")) };
    await expect(syncBatch({ ...runtime.sync, queue })).rejects.toThrow("redis went away");
    const [batch] = named(memory.getFinishedSpans(), "driftless.sync.batch");
    expect(batch!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "Error: redis went away" });
    const [claim] = childrenOf(memory.getFinishedSpans(), batch!);
    expect(claim).toMatchObject({ name: "driftless.queue.claim", status: { code: SpanStatusCode.ERROR } });
  });

  it("leave no span for a poll of an empty queue", async () => {
    memory.reset();
    const runtime = services.sources.get(source.name)!;
    await syncBatch(runtime.sync); // takes the two keys left by the refusal
    memory.reset();
    expect((await syncBatch(runtime.sync)).claimed).toBe(0);
    expect(memory.getFinishedSpans()).toEqual([]);
  });
});

describe("traces over OTLP/HTTP", () => {
  let source: TestSource;
  let receiver: Server;
  const received: { path: string; authorization: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    source = await createTestSource();
    // A stand-in collector: takes OTLP/HTTP JSON and answers as a collector does.
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        received.push({
          path: request.url ?? "",
          authorization: request.headers.authorization,
          body: Buffer.concat(chunks).toString("utf8"),
        });
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
    await source?.dispose();
  });

  it("sends the spans to OTEL_EXPORTER_OTLP_ENDPOINT with the configured headers, at the latest when the worker stops", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const config = loadConfig({
      ...source.env,
      WORKER_PORT: "0",
      CAPTURE_ENABLED: "false",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20collector-token",
    });
    const worker = await startWorker(config, { logger: silentLogger });
    try {
      expect(worker.services.tracing.exporters).toEqual(["otlp"]);
      const response = await fetch(`${worker.url}/status`, { headers: { traceparent: traceparent(TRACE_ID) } });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    } finally {
      // Shutting down flushes the batch processor: the span is sent before stop() returns.
      await worker.stop();
    }
    const sent = received.filter((request) => request.body.includes(TRACE_ID));
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent[0]).toMatchObject({ path: "/v1/traces", authorization: "Bearer collector-token" });
    expect(sent[0]!.body).toContain('"name":"GET /api/status"');
    expect(sent[0]!.body).toContain('"stringValue":"driftless"');
  });
});
