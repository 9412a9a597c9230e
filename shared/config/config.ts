import type { Settings } from "./settings.js";
import type { SourceConfig } from "./source.js";
import type { TargetConfig } from "./targets.js";

/**
 * Where each setting lands in the configuration the code reads, and what is derived from several
 * (a Service Bus section present only when a namespace or connection string is set, the OTLP
 * traces URL). The `Config` type is this function's result, so the shape is written here once;
 * what a setting is, its type and default live in settingsSchema (settings.ts).
 */
export function toConfig(
  settings: Settings,
  sources: readonly SourceConfig[],
  targets: Readonly<Record<string, TargetConfig>> = {},
) {
  return {
    redis: {
      url: settings.REDIS_URL,
      keyPrefix: settings.REDIS_KEY_PREFIX,
      commandTimeoutMs: settings.REDIS_COMMAND_TIMEOUT_MS,
      caFile: settings.REDIS_CA_FILE,
      tlsInsecure: settings.REDIS_TLS_INSECURE,
      /** Present when REDIS_WAIT_REPLICAS > 0: enqueues and capture checkpoints wait for that many replicas. */
      wait:
        settings.REDIS_WAIT_REPLICAS > 0
          ? { replicas: settings.REDIS_WAIT_REPLICAS, timeoutMs: settings.REDIS_WAIT_TIMEOUT_MS }
          : undefined,
    },
    elasticsearch: {
      engine: settings.ELASTICSEARCH_ENGINE,
      node: settings.ELASTICSEARCH_URL,
      apiKey: settings.ELASTICSEARCH_API_KEY,
      username: settings.ELASTICSEARCH_USERNAME,
      password: settings.ELASTICSEARCH_PASSWORD,
      caFile: settings.ELASTICSEARCH_CA_FILE,
      requestTimeoutMs: settings.ELASTICSEARCH_REQUEST_TIMEOUT_MS,
    },
    cosmos: {
      endpoint: settings.COSMOS_ENDPOINT,
      key: settings.COSMOS_KEY,
      clientId: settings.COSMOS_CLIENT_ID ?? settings.AZURE_CLIENT_ID,
      caFile: settings.COSMOS_CA_FILE,
      triggerConnection: settings.COSMOS_TRIGGER_CONNECTION,
      leaseContainer: settings.COSMOS_LEASE_CONTAINER,
      createLeaseContainer: settings.COSMOS_CREATE_LEASE_CONTAINER,
      requestTimeoutMs: settings.COSMOS_REQUEST_TIMEOUT_MS,
    },
    sources,
    /** Search targets besides the default (`elasticsearch` above), by name; a source's `target` picks one. */
    targets,
    capture: {
      enabled: settings.CAPTURE_ENABLED,
      startFrom: startFrom(settings.CAPTURE_START_FROM),
      mode: settings.CAPTURE_MODE,
      pollMs: settings.CAPTURE_POLL_MS,
      leaseMs: settings.CAPTURE_LEASE_MS,
      maxItems: settings.CAPTURE_MAX_ITEMS,
      /** Functions: the Cosmos DB trigger's feedPollDelay. */
      feedPollDelayMs: settings.CAPTURE_FEED_POLL_DELAY_MS,
    },
    /** Set when Service Bus is configured: the timer then dispatches tickets instead of draining. */
    dispatch:
      settings.SERVICEBUS_NAMESPACE || settings.SERVICEBUS_CONNECTION_STRING
        ? {
            namespace: settings.SERVICEBUS_NAMESPACE,
            connectionString: settings.SERVICEBUS_CONNECTION_STRING,
            queue: settings.SERVICEBUS_QUEUE,
            keysPerTicket: settings.DISPATCH_KEYS_PER_TICKET,
            maxTickets: settings.DISPATCH_MAX_TICKETS,
            /** An enqueue on an idle source sends at most one wake-up ticket per source in this long. */
            wakeDebounceMs: settings.DISPATCH_WAKE_DEBOUNCE_MS,
          }
        : undefined,
    sync: {
      schedule: settings.SYNC_SCHEDULE,
      batchSize: settings.SYNC_BATCH_SIZE,
      batchMaxBytes: settings.SYNC_BATCH_MAX_BYTES,
      concurrency: settings.SYNC_CONCURRENCY,
      timeBudgetMs: settings.SYNC_TIME_BUDGET_MS,
      idlePollMs: settings.SYNC_IDLE_POLL_MS,
      staleReadGraceMs: settings.SYNC_STALE_READ_GRACE_MS,
    },
    queue: {
      leaseMs: settings.QUEUE_LEASE_MS,
      bulkShare: settings.QUEUE_BULK_SHARE,
      reapIntervalMs: settings.QUEUE_REAP_INTERVAL_MS,
      retry: {
        maxAttempts: settings.QUEUE_MAX_ATTEMPTS,
        backoffBaseMs: settings.QUEUE_BACKOFF_BASE_MS,
        backoffMaxMs: settings.QUEUE_BACKOFF_MAX_MS,
      },
    },
    api: {
      maxItems: settings.ENQUEUE_MAX_ITEMS,
      maxBodyBytes: settings.ENQUEUE_MAX_BODY_BYTES,
      apiKey: settings.DRIFTLESS_API_KEY,
    },
    /** Circuit breakers per dependency (shared/resilience). */
    resilience: {
      failureThreshold: settings.CIRCUIT_FAILURE_THRESHOLD,
      halfOpenAfterMs: settings.CIRCUIT_HALF_OPEN_AFTER_MS,
      halfOpenMaxMs: settings.CIRCUIT_HALF_OPEN_MAX_MS,
    },
    // deadLetterMirror: present when dead letters are mirrored to a Service Bus queue (SERVICEBUS_DEADLETTER_QUEUE).
    ...(settings.SERVICEBUS_DEADLETTER_QUEUE
      ? {
          deadLetterMirror: {
            namespace: settings.SERVICEBUS_NAMESPACE,
            connectionString: settings.SERVICEBUS_CONNECTION_STRING,
            queue: settings.SERVICEBUS_DEADLETTER_QUEUE,
          },
        }
      : {}),
    /** Reimport and reconcile jobs (shared/jobs). */
    jobs: {
      pageSize: settings.REIMPORT_PAGE_SIZE,
      bulkConcurrency: settings.REIMPORT_BULK_CONCURRENCY,
      reconcileBatchSize: settings.RECONCILE_BATCH_SIZE,
      reconcileMaxDeleteShare: settings.RECONCILE_MAX_DELETE_SHARE,
      reconcileSchedule: settings.RECONCILE_SCHEDULE,
      leaseMs: settings.JOBS_LEASE_MS,
      pollMs: settings.JOBS_POLL_MS,
    },
    worker: {
      host: settings.WORKER_HOST,
      port: settings.WORKER_PORT,
      sync: settings.WORKER_SYNC,
      allowedHosts: settings.DRIFTLESS_ALLOWED_HOSTS,
    },
    logLevel: settings.LOG_LEVEL,
    /** Metrics and trace exporters, and the sync history (shared/telemetry, shared/history). */
    telemetry: {
      // azureMonitor: present when APPLICATIONINSIGHTS_CONNECTION_STRING is set: metrics and traces go to Application Insights.
      ...(settings.APPLICATIONINSIGHTS_CONNECTION_STRING
        ? {
            azureMonitor: {
              connectionString: settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
              authenticationString: settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
              exportIntervalMs: settings.METRICS_EXPORT_INTERVAL_MS,
            },
          }
        : {}),
      /** Traces: recorded only where an exporter takes them (azureMonitor, otlp). */
      traces: traceSettings(settings),
      /** Where log lines go besides stdout (or a Functions invocation's log); `elasticsearch` is present when LOG_ELASTICSEARCH_URL is set. */
      logs: settings.LOG_ELASTICSEARCH_URL
        ? {
            elasticsearch: {
              node: settings.LOG_ELASTICSEARCH_URL,
              apiKey: settings.LOG_ELASTICSEARCH_API_KEY,
              // The same cluster as ELASTICSEARCH_URL usually: its CA is the one to trust.
              caFile: settings.ELASTICSEARCH_CA_FILE,
              dataStream: settings.LOG_ELASTICSEARCH_DATA_STREAM,
            },
          }
        : {},
      // syncEvents: present unless SYNC_EVENTS_ENABLED is false.
      ...(settings.SYNC_EVENTS_ENABLED
        ? { syncEvents: { stream: settings.SYNC_EVENTS_STREAM, retention: settings.SYNC_EVENTS_RETENTION } }
        : {}),
    },
  };
}

/** The validated configuration, frozen: loadConfig's result. */
export type Config = DeepReadonly<ReturnType<typeof toConfig>>;

/** Readonly all the way down, as loadConfig freezes it; a source keeps its own type (source.ts). */
type DeepReadonly<T> = T extends Date | string | number | boolean | undefined | null | SourceConfig
  ? T
  : T extends readonly (infer Item)[]
    ? readonly DeepReadonly<Item>[]
    : { readonly [Key in keyof T]: DeepReadonly<T[Key]> };

/**
 * The OpenTelemetry names and meanings: OTEL_EXPORTER_OTLP_ENDPOINT is a base URL that gets the
 * signal's path, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL itself.
 */
function traceSettings(settings: Settings): {
  /** TRACES_SAMPLE_RATIO: share of the traces driftless starts that are recorded. */
  sampleRatio: number;
  /** Present when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. */
  otlp?: { url: string; headers: Record<string, string> };
} {
  const base = settings.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url =
    settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined);
  const headers = { ...settings.OTEL_EXPORTER_OTLP_HEADERS, ...settings.OTEL_EXPORTER_OTLP_TRACES_HEADERS };
  return { sampleRatio: settings.TRACES_SAMPLE_RATIO, ...(url ? { otlp: { url, headers } } : {}) };
}

type StartFrom = { kind: "now" } | { kind: "beginning" } | { kind: "time"; at: Date };

function startFrom(value: string): StartFrom {
  if (value === "now" || value === "beginning") return { kind: value };
  return { kind: "time", at: new Date(value) };
}
