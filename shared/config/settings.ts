import { z } from "zod";

/**
 * Every environment setting driftless reads, with its default. The configuration reference
 * (docs/configuration.md) mirrors this file; keep them in step.
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
  .refine((value) => parseOtlpHeaders(value) !== undefined, "must be name=value pairs separated by commas (values percent-encoded)")
  .transform((value) => parseOtlpHeaders(value)!);

export const settingsSchema = z.object({
  REDIS_URL: url(/^rediss?:$/, "redis:// or rediss://"),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("driftless"),
  /** A Redis command fails after this long; the queue retries the calls that are safe to repeat. */
  REDIS_COMMAND_TIMEOUT_MS: int(100, 10_000),
  /** PEM CA to trust for a `rediss://` server whose certificate is not publicly trusted. */
  REDIS_CA_FILE: z.string().min(1).optional(),
  /** Do not verify the `rediss://` server's certificate (local tests only; never in production). */
  REDIS_TLS_INSECURE: flag.default(false),
  /**
   * Replicas that must acknowledge an enqueue (and a capture checkpoint) before it counts as done
   * (Redis WAIT); 0 turns it off. Redis replicates asynchronously: without it, a failover can lose
   * an enqueue that was already answered.
   */
  REDIS_WAIT_REPLICAS: int(0, 0),
  /** How long WAIT waits for REDIS_WAIT_REPLICAS; fewer acknowledgements by then fail the call. */
  REDIS_WAIT_TIMEOUT_MS: int(1, 1000),

  ELASTICSEARCH_URL: url(/^https?:$/, "http:// or https://"),
  ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  ELASTICSEARCH_USERNAME: z.string().min(1).optional(),
  ELASTICSEARCH_PASSWORD: z.string().min(1).optional(),
  ELASTICSEARCH_CA_FILE: z.string().min(1).optional(),
  ELASTICSEARCH_REQUEST_TIMEOUT_MS: int(1000, 30_000),

  COSMOS_ENDPOINT: url(/^https?:$/, "https://"),
  /** The account key; leave unset to sign in with managed identity (Entra ID), as the Bicep deployment does. */
  COSMOS_KEY: z.string().min(1).optional(),
  /** Client id of the user-assigned managed identity (AZURE_CLIENT_ID is read too). */
  COSMOS_CLIENT_ID: z.string().min(1).optional(),
  AZURE_CLIENT_ID: z.string().min(1).optional(),
  /** Trust this CA for the Cosmos endpoint (the local emulators use self-signed certificates). */
  COSMOS_CA_FILE: z.string().min(1).optional(),
  /** One Cosmos request (a point read) fails after this long. */
  COSMOS_REQUEST_TIMEOUT_MS: int(1000, 10_000),
  /** App setting (prefix) the Functions Cosmos DB trigger connects with. */
  COSMOS_TRIGGER_CONNECTION: z.string().min(1).default("COSMOS"),
  COSMOS_LEASE_CONTAINER: z.string().min(1).default("leases"),
  /** Let the Functions trigger create its lease container (key auth only; under Entra auth create it in Bicep). */
  COSMOS_CREATE_LEASE_CONTAINER: flag.default(false),

  /** Worker mode reads the change feed itself (the Functions host uses its Cosmos DB trigger instead). */
  CAPTURE_ENABLED: flag.default(true),
  /** Where a reader with no saved continuation starts: `now`, `beginning`, or an ISO time. */
  CAPTURE_START_FROM: z
    .string()
    .refine((value) => value === "now" || value === "beginning" || !Number.isNaN(Date.parse(value)), "must be now, beginning or an ISO 8601 time")
    .default("now"),
  /** `latestVersion`, or `allVersionsAndDeletes` where the account has continuous backup and the mode enabled. */
  CAPTURE_MODE: z.enum(["latestVersion", "allVersionsAndDeletes"]).default("latestVersion"),
  CAPTURE_POLL_MS: int(10, 500),
  CAPTURE_LEASE_MS: int(1000, 15_000),
  CAPTURE_MAX_ITEMS: int(1, 1000),
  /**
   * Functions: how long the Cosmos DB trigger waits before polling a partition again once it has
   * read all its changes (its `feedPollDelay`). The host's own default is 5 s, most of a change's
   * wait to be searchable; each poll is a small read of the feed, so 1 s costs little.
   */
  CAPTURE_FEED_POLL_DELAY_MS: int(100, 1000),

  DRIFTLESS_SOURCES: z.string().min(1).optional(),
  DRIFTLESS_SOURCES_FILE: z.string().min(1).optional(),

  SYNC_SCHEDULE: z.string().min(1).default("*/30 * * * * *"),
  /**
   * Keys claimed per batch, and so documents per bulk request (below SYNC_BATCH_MAX_BYTES).
   * Elasticsearch pays a fixed cost per bulk request (a translog fsync, among others), so fewer,
   * larger requests cost it less per document; 1,000 beat 500 in paired drains and 2,000 was no
   * better (bench/results/history.md).
   */
  SYNC_BATCH_SIZE: int(1, 1000),
  SYNC_BATCH_MAX_BYTES: int(1024, 5_000_000),
  /**
   * Batches in flight per source: enough to keep Elasticsearch busy while others read Cosmos or
   * settle, few enough that the worker's own CPU does not take Elasticsearch's (2, 3 and 4
   * compared in bench/results/history.md).
   */
  SYNC_CONCURRENCY: int(1, 3),
  SYNC_TIME_BUDGET_MS: int(1000, 25_000),
  SYNC_IDLE_POLL_MS: int(10, 250),
  /**
   * For this long after capture saw a change, a Cosmos read older than it (a replica behind the
   * writer's session) is read again instead of written (shared/sync/freshness.ts); after it, the
   * read is believed.
   */
  SYNC_STALE_READ_GRACE_MS: int(0, 30_000),

  QUEUE_LEASE_MS: int(1000, 60_000),
  QUEUE_MAX_ATTEMPTS: int(1, 10),
  QUEUE_BACKOFF_BASE_MS: int(0, 1000),
  QUEUE_BACKOFF_MAX_MS: int(0, 300_000),
  QUEUE_BULK_SHARE: z.coerce.number().min(0).max(1).default(0.1),
  QUEUE_REAP_INTERVAL_MS: int(100, 5000),

  /** Documents per Cosmos page of a reimport; big pages, since every page is a request (and a full scan on the emulator). */
  REIMPORT_PAGE_SIZE: int(1, 1000),
  /**
   * Bulk requests a reimport page is split into and sends at once. Elasticsearch runs one bulk
   * request on one write thread per shard, so a single request at a time leaves cores idle.
   */
  REIMPORT_BULK_CONCURRENCY: int(1, 2),
  /** Index entries checked against Cosmos per page of a reconcile. */
  RECONCILE_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  /**
   * The largest share of the index one reconcile may delete. A reconcile that finds more of the
   * index missing from Cosmos stops before deleting past it and fails with the counts: a wrong
   * container, an emptied container or a bad restore looks like that, and deletes are hard to undo.
   * 1 turns the guard off.
   */
  RECONCILE_MAX_DELETE_SHARE: z.coerce.number().min(0).max(1).default(0.25),
  /** Reconcile timer function schedule (NCRONTAB; read by the host as %RECONCILE_SCHEDULE%). */
  RECONCILE_SCHEDULE: z.string().min(1).default("0 0 3 * * *"),
  /** A job's runner lease; a crashed runner's job is taken over and resumed after this. */
  JOBS_LEASE_MS: int(1000, 60_000),
  /** Worker mode: how often the job loop looks for queued jobs and orphaned running ones. */
  JOBS_POLL_MS: int(50, 2000),

  /** Consecutive failed calls to a dependency (Cosmos, Elasticsearch, Redis) that open its circuit. */
  CIRCUIT_FAILURE_THRESHOLD: int(1, 5),
  /** Wait before the first trial call through an open circuit; grows (jittered) after each failed trial. */
  CIRCUIT_HALF_OPEN_AFTER_MS: int(100, 5000),
  /** Longest wait between trial calls through an open circuit. */
  CIRCUIT_HALF_OPEN_MAX_MS: int(100, 60_000),

  /** Service Bus connection string (local use; in Azure SERVICEBUS_NAMESPACE with managed identity). */
  SERVICEBUS_CONNECTION_STRING: z.string().min(1).optional(),
  /** A Service Bus queue that gets a copy of every new dead letter (optional). */
  SERVICEBUS_DEADLETTER_QUEUE: z.string().min(1).optional(),
  /** `<name>.servicebus.windows.net`: with it (or a connection string) the timer dispatches work tickets instead of draining in process. */
  SERVICEBUS_NAMESPACE: z.string().min(1).optional(),
  /** The queue of work tickets the sync-ticket function drains (read by the trigger as %SERVICEBUS_QUEUE%). */
  SERVICEBUS_QUEUE: z.string().min(1).default("driftless-tickets"),
  /** Keys one ticket is expected to drain. */
  DISPATCH_KEYS_PER_TICKET: int(1, 5000),
  /** Most tickets per source per timer run. */
  DISPATCH_MAX_TICKETS: int(1, 32),
  /**
   * With Service Bus, an enqueue on an idle source sends a ticket at once (shared/dispatch/wake.ts);
   * at most one per source in this long until that ticket's drain starts.
   */
  DISPATCH_WAKE_DEBOUNCE_MS: int(50, 1000),

  ENQUEUE_MAX_ITEMS: int(1, 1000),
  ENQUEUE_MAX_BODY_BYTES: int(1024, 1_048_576),

  WORKER_HOST: z.string().min(1).default("localhost"),
  WORKER_PORT: int(0, 7071),
  DRIFTLESS_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  /**
   * Worker mode: host names besides the loopback ones that requests may carry in `Host` and
   * `Origin` (a reverse proxy's name). Checked without DRIFTLESS_API_KEY, and always once set.
   */
  DRIFTLESS_ALLOWED_HOSTS: z
    .string()
    .transform((value) => value.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean))
    .refine((names) => names.every((name) => HOST_NAME.test(name)), "must be host names separated by commas, without scheme, port or wildcard (e.g. driftless.internal,10.0.0.5)")
    .default([]),
  WORKER_SYNC: flag.default(true),

  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** With it, the log lines also go into this Elasticsearch (the local ELK stack's), in LOG_ELASTICSEARCH_DATA_STREAM. */
  LOG_ELASTICSEARCH_URL: url(/^https?:$/, "http:// or https://").optional(),
  /** API key for LOG_ELASTICSEARCH_URL (the base64 `encoded` form); user info in the URL is taken as basic auth. */
  LOG_ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  /**
   * The logs data stream, `logs-<dataset>-<namespace>`: Elasticsearch's built-in `logs-*-*` index
   * template maps it as ECS, and the Kibana dashboard's logs data view (`logs-*`) reads it.
   */
  LOG_ELASTICSEARCH_DATA_STREAM: z
    .string()
    .regex(/^logs-[a-z0-9._]+-[a-z0-9._]+$/, "must be a logs-<dataset>-<namespace> data stream name (lowercase a-z, 0-9, . _), e.g. logs-driftless-default")
    .default("logs-driftless-default"),

  /** Application Insights: with it, the metrics and traces are exported to Azure Monitor as well (Functions sets it). */
  APPLICATIONINSIGHTS_CONNECTION_STRING: z
    .string()
    .refine((value) => /(^|;)\s*InstrumentationKey\s*=\s*[0-9a-f-]{36}/i.test(value), "must contain InstrumentationKey=<guid>")
    .optional(),
  /** `Authorization=AAD;ClientId=<id>`: the exporters sign in with that managed identity (Application Insights without local auth). */
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.string().min(1).optional(),
  /** How often metrics are sent to Azure Monitor. */
  METRICS_EXPORT_INTERVAL_MS: int(1000, 60_000),
  /** OTLP/HTTP base URL (a collector, Jaeger, Tempo): with it, traces are sent to `<url>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url(/^https?:$/, "http:// or https://").optional(),
  /** The OTLP traces URL itself, used as given; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(/^https?:$/, "http:// or https://").optional(),
  /** Headers of every OTLP request, `name=value` pairs separated by commas (an `Authorization` for the collector). */
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders.optional(),
  /** The same for the traces requests only; a name given in both takes this value. */
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders.optional(),
  /** Share of traces recorded where driftless starts them (a caller's sampled `traceparent` is always followed). */
  TRACES_SAMPLE_RATIO: z.coerce
    .number({ error: "must be a number from 0 to 1" })
    .min(0, "must be a number from 0 to 1")
    .max(1, "must be a number from 0 to 1")
    .default(1),
  /** Write one event per synced change to an Elasticsearch data stream (the sync history behind the stats routes). */
  SYNC_EVENTS_ENABLED: flag.default(true),
  /** The events data stream (and its index template). */
  SYNC_EVENTS_STREAM: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,199}$/, "must be a lowercase data stream name (a-z, 0-9, . _ -)")
    .default("driftless-sync-events"),
  /** How long events are kept (data stream lifecycle retention); at least the longest stats window, 3d. */
  SYNC_EVENTS_RETENTION: z
    .string()
    .refine((value) => (durationMs(value) ?? 0) >= 3 * 86_400_000, "must be a duration of at least 3d (the longest stats window), e.g. 7d or 96h")
    .default("7d"),
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

/** Settings whose values are never printed, not even in validation errors. */
export const secretSettings = new Set([
  "REDIS_URL",
  "ELASTICSEARCH_API_KEY",
  "ELASTICSEARCH_PASSWORD",
  "COSMOS_KEY",
  "DRIFTLESS_API_KEY",
  "LOG_ELASTICSEARCH_API_KEY",
  "SERVICEBUS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
]);
