import type { Client } from "../elastic/client.js";
import type { LineSink } from "./invocation-logs.js";

/**
 * The mapping of the log data stream: the ECS fields the Kibana dashboard's log panels use, with
 * the types they get in Elastic's own ECS templates, and driftless's own string fields as keyword
 * (they are names: sources, dependencies, job ids). Written by driftless itself rather than left
 * to the cluster's built-in `logs-*-*` template, which a cluster may not have (stack templates
 * turned off) and whose dynamic mapping would type `driftless.*` from whatever line came first.
 */
export const LOG_MAPPINGS = {
  dynamic_templates: [
    { strings_as_keyword: { match_mapping_type: "string", mapping: { type: "keyword", ignore_above: 1024 } } },
  ],
  properties: {
    "@timestamp": { type: "date" },
    message: { type: "text" },
    log: { properties: { level: { type: "keyword" }, logger: { type: "keyword" } } },
    service: { properties: { name: { type: "keyword" }, version: { type: "keyword" } } },
    error: { properties: { message: { type: "text" }, type: { type: "keyword" }, stack_trace: { type: "text" } } },
    ecs: { properties: { version: { type: "keyword" } } },
  },
} as const;

/** Above the built-in `logs` template (100), so this one shapes the data stream of that name. */
const TEMPLATE_PRIORITY = 200;

export interface ElasticLogShipperOptions {
  readonly client: Client;
  /** A `logs-<dataset>-<namespace>` data stream: Elasticsearch's built-in `logs-*-*` template maps it as ECS. */
  readonly dataStream: string;
  /** How often buffered lines are sent. @defaultValue 1000 */
  readonly flushIntervalMs?: number;
  /** Lines per bulk request; a full batch is sent at once. @defaultValue 500 */
  readonly maxBatch?: number;
  /** Lines kept while Elasticsearch does not answer; later ones are dropped and counted. @defaultValue 10000 */
  readonly maxBuffered?: number;
  /** Where the shipper says that it failed or recovered: never the logger itself, which would feed the loop. */
  readonly report: (message: string) => void;
}

export interface ElasticLogShipper extends LineSink {
  /** Sends what is buffered now (a failure is reported, never thrown). */
  flush(): Promise<void>;
  /** Stops the timer and sends what is left. */
  close(): Promise<void>;
}

/**
 * Ships the logger's ECS JSON lines into an Elasticsearch data stream in bulk, in the background.
 * Written here over the client driftless already has rather than with pino-elasticsearch, whose
 * bulk helper buffers without bound while Elasticsearch is down: logging must never grow the
 * process or slow it because the log store is away. So the buffer is bounded, a failed batch is
 * dropped (the lines still went to stdout or the invocation's log), the failure is reported once
 * per outage, and the timer is unreferenced so it never keeps a process alive.
 */
export function createElasticLogShipper(options: ElasticLogShipperOptions): ElasticLogShipper {
  const { client, dataStream, flushIntervalMs = 1000, maxBatch = 500, maxBuffered = 10_000, report } = options;
  let buffer: string[] = [];
  let dropped = 0;
  let failing = false;
  let sending: Promise<void> | undefined;
  let ensured = false;
  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();

  function write(line: string): boolean {
    if (buffer.length >= maxBuffered) dropped++;
    else buffer.push(line);
    if (buffer.length >= maxBatch) void flush();
    return true;
  }

  async function flush(): Promise<void> {
    while (sending) await sending;
    if (buffer.length === 0) return;
    const batch = buffer.slice(0, maxBatch);
    buffer = buffer.slice(batch.length);
    sending = send(batch).finally(() => (sending = undefined));
    await sending;
  }

  async function send(lines: readonly string[]): Promise<void> {
    const operations = lines.flatMap((line) => {
      try {
        return [{ create: {} }, JSON.parse(line) as object];
      } catch {
        return [];
      }
    });
    if (operations.length === 0) return;
    try {
      if (!ensured) {
        // Once per process (again after a failure): the template must exist before the stream's first document creates it.
        await client.indices.putIndexTemplate({
          name: dataStream,
          index_patterns: [dataStream],
          data_stream: {},
          priority: TEMPLATE_PRIORITY,
          _meta: { managed_by: "driftless", description: "driftless's ECS log lines" },
          template: { mappings: LOG_MAPPINGS },
        } as Parameters<Client["indices"]["putIndexTemplate"]>[0]);
        ensured = true;
      }
      const response = await client.bulk({ index: dataStream, require_data_stream: true, operations });
      if (failing)
        report(
          `shipping logs to Elasticsearch works again${dropped ? ` (${dropped} lines were dropped meanwhile)` : ""}`,
        );
      failing = false;
      dropped = 0;
      if (response.errors) {
        const refused = response.items.map((item) => item.create?.error).filter((error) => error !== undefined);
        report(
          `Elasticsearch refused ${refused.length} log lines in ${dataStream}: ${refused[0]?.type ?? "error"}: ${refused[0]?.reason ?? ""}`,
        );
      }
    } catch (error) {
      dropped += lines.length;
      if (!failing)
        report(
          `shipping logs to Elasticsearch failed; dropping log lines until it answers (${error instanceof Error ? error.name : "error"})`,
        );
      failing = true;
    }
  }

  return {
    write,
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
