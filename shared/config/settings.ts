import { z } from "zod";

declare module "zod" {
  interface GlobalMeta {
    /** A setting whose value is never printed: `driftless config check` shows it redacted. */
    secret?: boolean;
  }
}

/**
 * Every environment setting driftless reads: its name, its type and default (the schema) and what
 * it means (`.describe`, or `.meta` with `secret: true` for a value never to print), each written
 * once. `Config` is derived from it (config.ts), and the configuration table in
 * docs/configuration.md is generated from it (`npm run docs:config`).
 */
const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const url = (protocols: RegExp, hint: string) =>
  z.string().refine((value) => {
    try {
      return protocols.test(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a ${hint} URL`);
// A DNS name, an IPv4 address, or an IPv6 address in brackets, as it appears in a Host header without its port.
const HOST_NAME = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/;
const flag = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");
// The OpenTelemetry format: `name=value,name2=value2`, values percent-encoded. The message never
// quotes the value: it usually holds a token.
const otlpHeaders = z
  .string()
  .refine(
    (value) => parseOtlpHeaders(value) !== undefined,
    "must be name=value pairs separated by commas (values percent-encoded)",
  )
  .transform((value) => parseOtlpHeaders(value)!);

export const settingsSchema = z.object({
  REDIS_URL: url(/^rediss?:$/, "redis:// or rediss://").meta({
    description: "`redis://` or `rediss://` (TLS) URL of the queue's Redis",
    secret: true,
  }),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]+$/)
    .default("driftless")
    .describe("prefix of every Redis key; keys are `<prefix>:{<source>}:…`"),
  REDIS_COMMAND_TIMEOUT_MS: int(100, 10_000).describe(
    "a Redis command fails after this long (commands wait in ioredis's offline queue while Redis restarts, not forever)",
  ),
  REDIS_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe("PEM CA to trust for a `rediss://` server whose certificate is not publicly trusted"),
  REDIS_TLS_INSECURE: flag
    .default(false)
    .describe("do not verify the `rediss://` certificate (local tests only; logged as a warning)"),
  // Redis replicates asynchronously: without WAIT, a failover can lose an enqueue that was already answered.
  REDIS_WAIT_REPLICAS: int(0, 0).describe(
    "replicas that must acknowledge an enqueue (HTTP producer, capture, jobs) and a worker-mode capture checkpoint before it counts as done (Redis `WAIT`); fewer within the timeout fail the call: the producer answers 503, capture reads the page again (see [guarantees.md](guarantees.md)); `0` turns it off",
  ),
  REDIS_WAIT_TIMEOUT_MS: int(1, 1000).describe(
    "how long `WAIT` waits for them; must be shorter than `REDIS_COMMAND_TIMEOUT_MS`",
  ),

  ELASTICSEARCH_URL: url(/^https?:$/, "http:// or https://").describe(
    "`http(s)://` URL of the search engine (Elasticsearch 8 or 9, or OpenSearch 2: `ELASTICSEARCH_ENGINE`)",
  ),
  ELASTICSEARCH_ENGINE: z
    .enum(["elasticsearch", "opensearch"])
    .default("elasticsearch")
    .describe(
      "which engine `ELASTICSEARCH_URL` is, so driftless talks to it with that engine's own client: `elasticsearch` (8; 9 untested) or `opensearch` (2); see [engines.md](engines.md)",
    ),
  ELASTICSEARCH_API_KEY: z.string().min(1).optional().meta({ description: "API key (base64 `id:key`)", secret: true }),
  ELASTICSEARCH_USERNAME: z
    .string()
    .min(1)
    .optional()
    .describe("basic auth instead of an API key, with `ELASTICSEARCH_PASSWORD`"),
  ELASTICSEARCH_PASSWORD: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "basic auth password, with `ELASTICSEARCH_USERNAME`", secret: true }),
  ELASTICSEARCH_CA_FILE: z.string().min(1).optional().describe("PEM CA to trust for Elasticsearch"),
  ELASTICSEARCH_REQUEST_TIMEOUT_MS: int(1000, 30_000).describe("the longest one bulk request may take"),

  COSMOS_ENDPOINT: url(/^https?:$/, "https://").describe("Cosmos DB account endpoint"),
  COSMOS_KEY: z.string().min(1).optional().meta({
    description: "account key; unset: sign in with Entra ID (managed identity in Azure, `DefaultAzureCredential`)",
    secret: true,
  }),
  COSMOS_CLIENT_ID: z.string().min(1).optional().describe("client id of the user-assigned managed identity"),
  AZURE_CLIENT_ID: z
    .string()
    .min(1)
    .optional()
    .describe("read as `COSMOS_CLIENT_ID` when that is unset (the name Azure identity libraries use)"),
  COSMOS_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe("PEM CA to trust for Cosmos (emulators with self-signed certificates)"),
  COSMOS_REQUEST_TIMEOUT_MS: int(1000, 10_000).describe(
    "one Cosmos request (a point read, a page) fails after this long",
  ),
  COSMOS_TRIGGER_CONNECTION: z
    .string()
    .min(1)
    .default("COSMOS")
    .describe("name of the app setting (prefix) the Functions Cosmos DB trigger connects with"),
  COSMOS_LEASE_CONTAINER: z
    .string()
    .min(1)
    .default("leases")
    .describe("the trigger's lease container (one per account; sources use their own prefix)"),
  COSMOS_CREATE_LEASE_CONTAINER: flag
    .default(false)
    .describe("let the trigger create the lease container (key auth only)"),

  CAPTURE_ENABLED: flag
    .default(true)
    .describe(
      "worker mode reads each source's change feed itself (the Functions host uses its Cosmos DB trigger instead)",
    ),
  CAPTURE_START_FROM: z
    .string()
    .refine(
      (value) => value === "now" || value === "beginning" || !Number.isNaN(Date.parse(value)),
      "must be now, beginning or an ISO 8601 time",
    )
    .default("now")
    .describe(
      "where a reader without a saved continuation starts: `now`, `beginning`, or an ISO 8601 time (also the trigger's `startFromBeginning` / `startFromTime`)",
    ),
  CAPTURE_MODE: z
    .enum(["latestVersion", "allVersionsAndDeletes"])
    .default("latestVersion")
    .describe(
      "`allVersionsAndDeletes` where the account has it (continuous backup): hard deletes then arrive through the feed too; `CAPTURE_START_FROM` must then be `now`",
    ),
  CAPTURE_POLL_MS: int(10, 500).describe("wait between change-feed reads once every feed range is caught up"),
  CAPTURE_LEASE_MS: int(1000, 15_000).describe(
    "the change-feed reader lease; a second worker takes over this long after the first dies",
  ),
  CAPTURE_MAX_ITEMS: int(1, 1000).describe("change-feed page size (the trigger's `maxItemsPerInvocation`)"),
  // The host's own default (5 s) was most of a change's wait to be searchable in Azure; a poll of a
  // drained partition is a small feed read, so a second costs little.
  CAPTURE_FEED_POLL_DELAY_MS: int(100, 500).describe(
    "Functions: the Cosmos DB trigger's `feedPollDelay`, its wait before polling a drained partition again (the host's default is 5 s)",
  ),

  DRIFTLESS_SOURCES: z.string().min(1).optional().describe("the sources as JSON (one of this or the next is required)"),
  DRIFTLESS_SOURCES_FILE: z.string().min(1).optional().describe("path to the sources JSON file"),

  SYNC_SCHEDULE: z
    .string()
    .min(1)
    .default("*/30 * * * * *")
    .describe("timer function schedule (NCRONTAB; read by the host as `%SYNC_SCHEDULE%`, so set it in app settings)"),
  // 1,000 beat 500 in paired drains and 2,000 was no better (bench/results/history.md).
  SYNC_BATCH_SIZE: int(1, 1000).describe(
    "keys claimed per batch, and documents per bulk request (fewer, larger requests cost Elasticsearch less per document)",
  ),
  SYNC_BATCH_MAX_BYTES: int(1024, 5_000_000).describe("upper bound of one bulk body; larger batches are split"),
  // 2, 3 and 4 compared in bench/results/history.md.
  SYNC_CONCURRENCY: int(1, 3).describe(
    "batches in flight per source, so reads of some overlap the bulk writes of others (too few leave Elasticsearch idle while every batch reads Cosmos; too many and the worker's own CPU takes Elasticsearch's)",
  ),
  SYNC_TIME_BUDGET_MS: int(1000, 25_000).describe(
    "a timer run or ticket stops claiming after this (it ends sooner once nothing is due); keep it below the schedule interval and `functionTimeout`",
  ),
  SYNC_IDLE_POLL_MS: int(10, 250).describe("wait between polls of an empty queue"),
  // See shared/sync/freshness.ts.
  SYNC_STALE_READ_GRACE_MS: int(0, 30_000).describe(
    "for this long after capture saw a change, a Cosmos read older than it (a lagging replica) is read again instead of written",
  ),

  QUEUE_LEASE_MS: int(1000, 60_000).describe("how long a claim is held before the reaper may return it"),
  QUEUE_MAX_ATTEMPTS: int(1, 10).describe("failed attempts before a key is dead-lettered"),
  QUEUE_BACKOFF_BASE_MS: int(0, 1000).describe("first retry delay; doubles per attempt, with jitter"),
  QUEUE_BACKOFF_MAX_MS: int(0, 300_000).describe("longest retry delay"),
  QUEUE_BULK_SHARE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe("share of each claim kept for the bulk lane while the live lane is busy"),
  QUEUE_REAP_INTERVAL_MS: int(100, 5000).describe("worker mode: how often expired leases are returned"),

  REIMPORT_PAGE_SIZE: int(1, 1000).describe("documents per Cosmos page of a reimport"),
  REIMPORT_BULK_CONCURRENCY: int(1, 2).describe(
    "bulk requests each reimport page is split into and sends at once (Elasticsearch works one bulk request per shard on one thread: one at a time leaves cores idle)",
  ),
  RECONCILE_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(1000)
    .describe("index entries per page of a reconcile (at most 10000), checked against Cosmos with point reads"),
  // A wrong container, an emptied container or a bad restore looks like a large share missing, and deletes are hard to undo.
  RECONCILE_MAX_DELETE_SHARE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.25)
    .describe(
      "the largest share of the index one reconcile may delete; past it the reconcile stops and fails with the counts (1 turns the guard off)",
    ),
  RECONCILE_SCHEDULE: z
    .string()
    .min(1)
    .default("0 0 3 * * *")
    .describe(
      "reconcile timer function schedule (NCRONTAB; read by the host as `%RECONCILE_SCHEDULE%`, so set it in app settings)",
    ),
  JOBS_LEASE_MS: int(1000, 60_000).describe(
    "a job runner's lease; the job of a runner that died is taken over and resumed after this",
  ),
  JOBS_POLL_MS: int(50, 2000).describe(
    "worker mode: how often the job loop looks for queued jobs and for jobs whose runner died",
  ),

  CIRCUIT_FAILURE_THRESHOLD: int(1, 5).describe(
    "consecutive failed calls to a dependency (Cosmos, Elasticsearch, Redis) that open its circuit",
  ),
  CIRCUIT_HALF_OPEN_AFTER_MS: int(100, 5000).describe(
    "wait before the first trial call through an open circuit; grows, jittered, after each failed trial",
  ),
  CIRCUIT_HALF_OPEN_MAX_MS: int(100, 60_000).describe("longest wait between trial calls"),

  SERVICEBUS_CONNECTION_STRING: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "the same with a connection string, for local use", secret: true }),
  SERVICEBUS_DEADLETTER_QUEUE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "a Service Bus queue that gets a copy of every new dead letter (needs `SERVICEBUS_NAMESPACE` or `SERVICEBUS_CONNECTION_STRING`)",
    ),
  SERVICEBUS_NAMESPACE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "`<name>.servicebus.windows.net`; with it the timer dispatches work tickets instead of draining (managed identity)",
    ),
  SERVICEBUS_QUEUE: z
    .string()
    .min(1)
    .default("driftless-tickets")
    .describe("the work-ticket queue (`%SERVICEBUS_QUEUE%` in the `sync-ticket` trigger)"),
  DISPATCH_KEYS_PER_TICKET: int(1, 5000).describe("due keys one ticket is expected to drain"),
  DISPATCH_MAX_TICKETS: int(1, 32).describe("most tickets per source per timer run"),
  // See shared/dispatch/wake.ts.
  DISPATCH_WAKE_DEBOUNCE_MS: int(50, 1000).describe(
    "with Service Bus, an enqueue on a source no ticket drains sends a ticket at once; at most one per source in this long",
  ),

  ENQUEUE_MAX_ITEMS: int(1, 1000).describe("items per enqueue request"),
  ENQUEUE_MAX_BODY_BYTES: int(1024, 1_048_576).describe("request body limit"),

  WORKER_HOST: z
    .string()
    .min(1)
    .default("localhost")
    .describe(
      "worker mode bind address (`localhost` binds 127.0.0.1 and ::1); anything but loopback requires `DRIFTLESS_API_KEY`",
    ),
  WORKER_PORT: int(0, 7071).describe("worker mode port"),
  DRIFTLESS_API_KEY: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .meta({ description: "worker mode key for state-changing routes (≥ 16 characters)", secret: true }),
  DRIFTLESS_ALLOWED_HOSTS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine(
      (names) => names.every((name) => HOST_NAME.test(name)),
      "must be host names separated by commas, without scheme, port or wildcard (e.g. driftless.internal,10.0.0.5)",
    )
    .default([])
    .describe(
      "worker mode: host names (comma-separated, no scheme or port) that `Host` and `Origin` may carry besides loopback, e.g. a reverse proxy's; checked without a key, and with one once set (see [api.md](api.md))",
    ),
  WORKER_SYNC: flag.default(true).describe("worker mode drains the queue (false: API only)"),

  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("`fatal` … `trace`, `silent`"),
  LOG_ELASTICSEARCH_URL: url(/^https?:$/, "http:// or https://")
    .optional()
    .describe(
      "with it, the log lines also go into this Elasticsearch (`http(s)://host:port`; user info in the URL is basic auth), in `LOG_ELASTICSEARCH_DATA_STREAM` (see [telemetry.md](telemetry.md))",
    ),
  LOG_ELASTICSEARCH_API_KEY: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "API key for `LOG_ELASTICSEARCH_URL` (the base64 `encoded` form)", secret: true }),
  // Elasticsearch's built-in `logs-*-*` index template maps such a stream as ECS.
  LOG_ELASTICSEARCH_DATA_STREAM: z
    .string()
    .regex(
      /^logs-[a-z0-9._]+-[a-z0-9._]+$/,
      "must be a logs-<dataset>-<namespace> data stream name (lowercase a-z, 0-9, . _), e.g. logs-driftless-default",
    )
    .default("logs-driftless-default")
    .describe(
      "the logs data stream, `logs-<dataset>-<namespace>` (lowercase); the Kibana dashboard's logs data view (`logs-*`) reads every name this setting accepts",
    ),

  APPLICATIONINSIGHTS_CONNECTION_STRING: z
    .string()
    .refine(
      (value) => /(^|;)\s*InstrumentationKey\s*=\s*[0-9a-f-]{36}/i.test(value),
      "must contain InstrumentationKey=<guid>",
    )
    .optional()
    .meta({
      description:
        "with it, metrics and traces are also exported to Azure Monitor (Application Insights `customMetrics`; spans as `requests` and `dependencies`); the Bicep sets it",
      secret: true,
    }),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z
    .string()
    .min(1)
    .optional()
    .describe(
      "`Authorization=AAD;ClientId=<id>`: the metric and trace exporters sign in with that managed identity (Application Insights with local auth disabled, as deployed)",
    ),
  METRICS_EXPORT_INTERVAL_MS: int(1000, 60_000).describe("how often metrics are sent to Azure Monitor"),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(/^https?:$/, "http:// or https://")
    .optional()
    .describe(
      "OTLP/HTTP base URL (`http(s)://`, e.g. `http://localhost:4318`): with it, traces are sent to `<url>/v1/traces` (JSON encoding)",
    ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(/^https?:$/, "http:// or https://")
    .optional()
    .describe("the OTLP traces URL itself, used as given; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`"),
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders.optional().meta({
    description:
      "headers of every OTLP request: `name=value` pairs separated by commas, values percent-encoded (`Authorization=Bearer%20<token>`); treated as a secret",
    secret: true,
  }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders
    .optional()
    .meta({ description: "the same for the traces requests; a name given in both takes this value", secret: true }),
  TRACES_SAMPLE_RATIO: z.coerce
    .number({ error: "must be a number from 0 to 1" })
    .min(0, "must be a number from 0 to 1")
    .max(1, "must be a number from 0 to 1")
    .default(1)
    .describe(
      "share of the traces driftless starts that are recorded, `0` to `1` (a span with a parent follows the parent's decision); matters only with an exporter configured",
    ),
  SYNC_EVENTS_ENABLED: flag
    .default(true)
    .describe(
      "write one event per synced change to an Elasticsearch data stream (the sync history behind the stats routes)",
    ),
  SYNC_EVENTS_STREAM: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,199}$/, "must be a lowercase data stream name (a-z, 0-9, . _ -)")
    .default("driftless-sync-events")
    .describe("the events data stream (and the name of its index template)"),
  SYNC_EVENTS_RETENTION: z
    .string()
    .refine(
      (value) => (durationMs(value) ?? 0) >= 3 * 86_400_000,
      "must be a duration of at least 3d (the longest stats window), e.g. 7d or 96h",
    )
    .default("7d")
    .describe(
      "how long events are kept (data stream lifecycle `data_retention`); at least `3d`, the longest stats window",
    ),
});

/** `a=1, b=x%20y` → `{ a: "1", b: "x y" }`; undefined when a pair is malformed. */
export function parseOtlpHeaders(value: string): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const pair of value.split(",")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    const name = pair.slice(0, at).trim();
    if (at < 1 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return undefined;
    try {
      headers[name] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      return undefined;
    }
  }
  return headers;
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** `7d`, `72h`, `4320m`, `259200s` in ms (Elasticsearch time units); undefined for anything else. */
export function durationMs(value: string): number | undefined {
  const match = /^(\d+)([dhms])$/.exec(value);
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined;
}

export type Settings = z.infer<typeof settingsSchema>;

/** Settings whose values are never printed (`secret: true` above), not even in validation errors. */
export const secretSettings: ReadonlySet<string> = new Set(
  Object.entries(settingsSchema.shape)
    .filter(([, schema]) => schema.meta()?.secret === true)
    .map(([name]) => name),
);
