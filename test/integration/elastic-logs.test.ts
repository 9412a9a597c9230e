import { Client } from "@elastic/elasticsearch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { createServiceLogging } from "../../shared/runtime/logging.js";
import { createElasticLogShipper } from "../../shared/telemetry/elastic-logs.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";
import { LOG_FIELDS } from "../infra/dashboard-log-fields.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { services, uniqueName } from "../setup/services.js";

/**
 * LOG_ELASTICSEARCH_URL ships the ECS log lines into a logs data stream of a real Elasticsearch,
 * where the Kibana dashboard's log panels read them; the log store being away costs nothing.
 */
describe("logs into Elasticsearch", () => {
  let source: TestSource;
  let es: Client;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    source = await createTestSource();
    es = new Client({ node: services().elasticsearchUrl });
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await es?.close();
    await source?.dispose();
  });

  const streamName = () => `logs-driftless-${uniqueName("t").replace(/-/g, ".")}`;
  const documents = async (stream: string) => {
    await es.indices.refresh({ index: stream });
    const result = await es.search<Record<string, unknown>>({
      index: stream,
      size: 100,
      sort: [{ "@timestamp": "asc" }],
    });
    return result.hits.hits.map((hit) => hit._source!);
  };

  it("the logger as the composition root wires it writes ECS documents the dashboard's fields and types fit, secrets redacted", async () => {
    const stream = streamName();
    const config = loadConfig({
      ...source.env,
      LOG_LEVEL: "info",
      LOG_ELASTICSEARCH_URL: services().elasticsearchUrl,
      LOG_ELASTICSEARCH_DATA_STREAM: stream,
    });
    const stdout: string[] = [];
    const logging = createServiceLogging(config, { destination: { write: (line: string) => stdout.push(line) } });
    logging.logger.warn(
      {
        source: "orders",
        dependency: "elasticsearch",
        deadLettered: 2,
        err: "bulk request failed",
        apiKey: "sekret-api-key-value",
      },
      "batch settled with dead letters",
    );
    logging.logger.info({ source: "orders" }, "worker listening");
    logging.logger.debug({}, "below the level");
    await logging.close();

    // stdout keeps every line as before.
    expect(stdout).toHaveLength(2);
    const docs = await documents(stream);
    const flat = docs.map((doc) => flatten(doc));
    expect(flat.map((doc) => [doc.get("log.level"), doc.get("message")])).toEqual([
      ["warn", "batch settled with dead letters"],
      ["info", "worker listening"],
    ]);
    expect(flat[0]!.get("service.name")).toBe("driftless");
    expect(flat[0]!.get("driftless.apiKey")).toBe("[redacted]");
    expect(JSON.stringify(docs)).not.toContain("sekret-api-key-value");
    expect(Date.parse(String(flat[0]!.get("@timestamp")))).not.toBeNaN();
    // It is a data stream (the built-in logs-*-* template), and every field a log panel uses has the type the dashboard expects.
    const resolved = await es.indices.resolveIndex({ name: stream });
    expect(resolved.data_streams.map((ds) => ds.name)).toEqual([stream]);
    const caps = await es.fieldCaps({ index: stream, fields: Object.keys(LOG_FIELDS) });
    const types = Object.fromEntries(
      Object.keys(LOG_FIELDS).map((name) => [name, Object.keys(caps.fields[name] ?? {}).join(",")]),
    );
    expect(types).toEqual(LOG_FIELDS);
  });

  it("a worker started with LOG_ELASTICSEARCH_URL ships its log lines", async () => {
    const stream = streamName();
    const worker = spawnWorker("logs", {
      ...source.env,
      LOG_ELASTICSEARCH_URL: services().elasticsearchUrl,
      LOG_ELASTICSEARCH_DATA_STREAM: stream,
    });
    workers.push(worker);
    const url = await worker.url();
    await eventually(async () => {
      const docs = (await es.indices.exists({ index: stream }))
        ? (await documents(stream)).map((doc) => flatten(doc))
        : [];
      const listening = docs.find((doc) => doc.get("message") === "worker listening");
      expect(listening?.get("driftless.url")).toBe(url);
      expect(listening?.get("log.level")).toBe("info");
    });
    expect(await worker.stop()).toBe(0);
  }, 120_000);

  it("with Elasticsearch down, logging neither throws nor waits, keeps a bounded buffer, and says so once", async () => {
    const reports: string[] = [];
    const down = new Client({ node: "http://127.0.0.1:1", maxRetries: 0, requestTimeout: 2000 });
    const shipper = createElasticLogShipper({
      client: down,
      dataStream: "logs-driftless-down",
      flushIntervalMs: 50,
      maxBatch: 100,
      maxBuffered: 1000,
      report: (m) => reports.push(m),
    });
    const started = Date.now();
    for (let i = 0; i < 50_000; i++) shipper.write(`{"@timestamp":"2026-01-01T00:00:00Z","message":"line ${i}"}\n`);
    const writing = Date.now() - started;
    await shipper.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await shipper.close();
    await down.close();
    expect(writing).toBeLessThan(5000);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/shipping logs to Elasticsearch failed/);
  });

  it("a worker whose log Elasticsearch is unreachable serves and stops as usual", async () => {
    const worker = spawnWorker("logs-down", { ...source.env, LOG_ELASTICSEARCH_URL: "http://127.0.0.1:1" });
    workers.push(worker);
    const url = await worker.url();
    const health = await fetch(`${url}/health`);
    expect(health.status).toBeLessThan(500);
    await eventually(async () => expect(worker.stderr()).toMatch(/shipping logs to Elasticsearch failed/));
    expect(worker.stderr().match(/shipping logs to Elasticsearch failed/g)).toHaveLength(1);
    expect(await worker.stop()).toBe(0);
  }, 120_000);
});

function flatten(value: Record<string, unknown>, prefix = "", into = new Map<string, unknown>()): Map<string, unknown> {
  for (const [name, inner] of Object.entries(value)) {
    if (inner !== null && typeof inner === "object" && !Array.isArray(inner))
      flatten(inner as Record<string, unknown>, `${prefix}${name}.`, into);
    else into.set(`${prefix}${name}`, inner);
  }
  return into;
}
