import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { settingsSchema, type Settings } from "./settings.js";
import { sourcesSchema, toSourceConfig, type SourceConfig } from "./source.js";

export interface Config {
  readonly redis: {
    readonly url: string;
    readonly keyPrefix: string;
    readonly commandTimeoutMs: number;
    readonly caFile?: string;
    readonly tlsInsecure: boolean;
    /** Present when REDIS_WAIT_REPLICAS > 0: enqueues and capture checkpoints wait for that many replicas. */
    readonly wait?: { readonly replicas: number; readonly timeoutMs: number };
  };
  readonly elasticsearch: {
    readonly node: string;
    readonly apiKey?: string;
    readonly username?: string;
    readonly password?: string;
    readonly caFile?: string;
    readonly requestTimeoutMs: number;
  };
  readonly cosmos: {
    readonly endpoint: string;
    readonly key?: string;
    readonly clientId?: string;
    readonly caFile?: string;
    readonly triggerConnection: string;
    readonly leaseContainer: string;
    readonly createLeaseContainer: boolean;
    readonly requestTimeoutMs: number;
  };
  readonly sources: readonly SourceConfig[];
  readonly capture: {
    readonly enabled: boolean;
    readonly startFrom: { readonly kind: "now" } | { readonly kind: "beginning" } | { readonly kind: "time"; readonly at: Date };
    readonly mode: "latestVersion" | "allVersionsAndDeletes";
    readonly pollMs: number;
    readonly leaseMs: number;
    readonly maxItems: number;
    /** Functions: the Cosmos DB trigger's feedPollDelay. */
    readonly feedPollDelayMs: number;
  };
  /** Set when Service Bus is configured: the timer then dispatches tickets instead of draining. */
  readonly dispatch?: {
    readonly namespace?: string;
    readonly connectionString?: string;
    readonly queue: string;
    readonly keysPerTicket: number;
    readonly maxTickets: number;
    /** An enqueue on an idle source sends at most one wake-up ticket per source in this long. */
    readonly wakeDebounceMs: number;
  };
  readonly sync: {
    readonly schedule: string;
    readonly batchSize: number;
    readonly batchMaxBytes: number;
    readonly concurrency: number;
    readonly timeBudgetMs: number;
    readonly idlePollMs: number;
    readonly staleReadGraceMs: number;
  };
  readonly queue: {
    readonly leaseMs: number;
    readonly bulkShare: number;
    readonly reapIntervalMs: number;
    readonly retry: { readonly maxAttempts: number; readonly backoffBaseMs: number; readonly backoffMaxMs: number };
  };
  readonly api: { readonly maxItems: number; readonly maxBodyBytes: number; readonly apiKey?: string };
  /** Circuit breakers per dependency (shared/resilience). */
  readonly resilience: { readonly failureThreshold: number; readonly halfOpenAfterMs: number; readonly halfOpenMaxMs: number };
  /** Present when dead letters are mirrored to a Service Bus queue (SERVICEBUS_DEADLETTER_QUEUE). */
  readonly deadLetterMirror?: { readonly namespace?: string; readonly connectionString?: string; readonly queue: string };
  /** Reimport and reconcile jobs (shared/jobs). */
  readonly jobs: {
    readonly pageSize: number;
    readonly bulkConcurrency: number;
    readonly reconcileBatchSize: number;
    readonly reconcileMaxDeleteShare: number;
    readonly reconcileSchedule: string;
    readonly leaseMs: number;
    readonly pollMs: number;
  };
  readonly worker: {
    readonly host: string;
    readonly port: number;
    readonly sync: boolean;
    /** DRIFTLESS_ALLOWED_HOSTS: names besides loopback that `Host` and `Origin` may carry. */
    readonly allowedHosts: readonly string[];
  };
  readonly logLevel: Settings["LOG_LEVEL"];
  /** Metrics and trace exporters, and the sync history (shared/telemetry, shared/history). */
  readonly telemetry: {
    /** Present when APPLICATIONINSIGHTS_CONNECTION_STRING is set: metrics and traces go to Application Insights. */
    readonly azureMonitor?: { readonly connectionString: string; readonly authenticationString?: string; readonly exportIntervalMs: number };
    /** Traces: recorded only where an exporter takes them (azureMonitor, otlp). */
    readonly traces: {
      /** TRACES_SAMPLE_RATIO: share of the traces driftless starts that are recorded. */
      readonly sampleRatio: number;
      /** Present when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. */
      readonly otlp?: { readonly url: string; readonly headers: Readonly<Record<string, string>> };
    };
    /** Where log lines go besides stdout (or a Functions invocation's log). */
    readonly logs: {
      /** Present when LOG_ELASTICSEARCH_URL is set. */
      readonly elasticsearch?: { readonly node: string; readonly apiKey?: string; readonly caFile?: string; readonly dataStream: string };
    };
    /** Present unless SYNC_EVENTS_ENABLED is false. */
    readonly syncEvents?: { readonly stream: string; readonly retention: string };
  };
}

export interface LoadConfigOptions {
  /** Reads DRIFTLESS_SOURCES_FILE; injected for tests. */
  readFile?: (path: string) => string;
}

/**
 * Validates every setting once, at start. A bad or missing value throws one ConfigError that
 * lists each problem with the name of its setting (never its value: some are secrets).
 */
export function loadConfig(env: Record<string, string | undefined>, options: LoadConfigOptions = {}): Config {
  const settings = orThrow(parseSettings(env));
  const sources = orThrow(parseSources(settings, options.readFile ?? readUtf8));
  const [problem] = crossSettingProblems(settings);
  if (problem) throw new ConfigError(problem.setting, problem.message);

  return deepFreeze({
    redis: {
      url: settings.REDIS_URL,
      keyPrefix: settings.REDIS_KEY_PREFIX,
      commandTimeoutMs: settings.REDIS_COMMAND_TIMEOUT_MS,
      caFile: settings.REDIS_CA_FILE,
      tlsInsecure: settings.REDIS_TLS_INSECURE,
      wait: settings.REDIS_WAIT_REPLICAS > 0 ? { replicas: settings.REDIS_WAIT_REPLICAS, timeoutMs: settings.REDIS_WAIT_TIMEOUT_MS } : undefined,
    },
    elasticsearch: {
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
    capture: {
      enabled: settings.CAPTURE_ENABLED,
      startFrom: startFrom(settings.CAPTURE_START_FROM),
      mode: settings.CAPTURE_MODE,
      pollMs: settings.CAPTURE_POLL_MS,
      leaseMs: settings.CAPTURE_LEASE_MS,
      maxItems: settings.CAPTURE_MAX_ITEMS,
      feedPollDelayMs: settings.CAPTURE_FEED_POLL_DELAY_MS,
    },
    dispatch:
      settings.SERVICEBUS_NAMESPACE || settings.SERVICEBUS_CONNECTION_STRING
        ? {
            namespace: settings.SERVICEBUS_NAMESPACE,
            connectionString: settings.SERVICEBUS_CONNECTION_STRING,
            queue: settings.SERVICEBUS_QUEUE,
            keysPerTicket: settings.DISPATCH_KEYS_PER_TICKET,
            maxTickets: settings.DISPATCH_MAX_TICKETS,
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
    resilience: {
      failureThreshold: settings.CIRCUIT_FAILURE_THRESHOLD,
      halfOpenAfterMs: settings.CIRCUIT_HALF_OPEN_AFTER_MS,
      halfOpenMaxMs: settings.CIRCUIT_HALF_OPEN_MAX_MS,
    },
    ...(settings.SERVICEBUS_DEADLETTER_QUEUE
      ? {
          deadLetterMirror: {
            namespace: settings.SERVICEBUS_NAMESPACE,
            connectionString: settings.SERVICEBUS_CONNECTION_STRING,
            queue: settings.SERVICEBUS_DEADLETTER_QUEUE,
          },
        }
      : {}),
    jobs: {
      pageSize: settings.REIMPORT_PAGE_SIZE,
      bulkConcurrency: settings.REIMPORT_BULK_CONCURRENCY,
      reconcileBatchSize: settings.RECONCILE_BATCH_SIZE,
      reconcileMaxDeleteShare: settings.RECONCILE_MAX_DELETE_SHARE,
      reconcileSchedule: settings.RECONCILE_SCHEDULE,
      leaseMs: settings.JOBS_LEASE_MS,
      pollMs: settings.JOBS_POLL_MS,
    },
    worker: { host: settings.WORKER_HOST, port: settings.WORKER_PORT, sync: settings.WORKER_SYNC, allowedHosts: settings.DRIFTLESS_ALLOWED_HOSTS },
    logLevel: settings.LOG_LEVEL,
    telemetry: {
      ...(settings.APPLICATIONINSIGHTS_CONNECTION_STRING
        ? {
            azureMonitor: {
              connectionString: settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
              authenticationString: settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
              exportIntervalMs: settings.METRICS_EXPORT_INTERVAL_MS,
            },
          }
        : {}),
      traces: traceSettings(settings),
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
      ...(settings.SYNC_EVENTS_ENABLED ? { syncEvents: { stream: settings.SYNC_EVENTS_STREAM, retention: settings.SYNC_EVENTS_RETENTION } } : {}),
    },
  });
}

/**
 * The OpenTelemetry names and meanings: OTEL_EXPORTER_OTLP_ENDPOINT is a base URL that gets the
 * signal's path, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL itself.
 */
function traceSettings(settings: Settings): Config["telemetry"]["traces"] {
  const base = settings.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined);
  const headers = { ...settings.OTEL_EXPORTER_OTLP_HEADERS, ...settings.OTEL_EXPORTER_OTLP_TRACES_HEADERS };
  return { sampleRatio: settings.TRACES_SAMPLE_RATIO, ...(url ? { otlp: { url, headers } } : {}) };
}

function startFrom(value: string): Config["capture"]["startFrom"] {
  if (value === "now" || value === "beginning") return { kind: value };
  return { kind: "time", at: new Date(value) };
}

/** One thing wrong with the configuration, named by its setting (never quoting its value: some are secrets). */
export interface ConfigProblem {
  readonly setting: string;
  readonly message: string;
}

/** A parse that lists every problem instead of stopping at the first (`driftless config check` shows them all). */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Every setting of settingsSchema, blanks counting as unset. */
export function parseSettings(env: Record<string, string | undefined>): Parsed<Settings> {
  return parse(settingsSchema, withoutBlanks(env), (path) => path.join("."));
}

/**
 * Rules between settings: backoff and circuit ranges, TLS options only for a rediss:// REDIS_URL,
 * a namespace for the dead-letter mirror. All of them, in this order; loadConfig throws the first.
 */
export function crossSettingProblems(settings: Settings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (settings.QUEUE_BACKOFF_MAX_MS < settings.QUEUE_BACKOFF_BASE_MS) {
    problems.push({ setting: "QUEUE_BACKOFF_MAX_MS", message: "must not be smaller than QUEUE_BACKOFF_BASE_MS" });
  }
  const tls = new URL(settings.REDIS_URL).protocol === "rediss:";
  if (!tls && settings.REDIS_CA_FILE) problems.push({ setting: "REDIS_CA_FILE", message: "only applies to a rediss:// REDIS_URL" });
  if (!tls && settings.REDIS_TLS_INSECURE) problems.push({ setting: "REDIS_TLS_INSECURE", message: "only applies to a rediss:// REDIS_URL" });
  // WAIT holds the connection's reply: a wait as long as the command timeout would fail as a timeout, not as too few replicas.
  if (settings.REDIS_WAIT_REPLICAS > 0 && settings.REDIS_WAIT_TIMEOUT_MS >= settings.REDIS_COMMAND_TIMEOUT_MS) {
    problems.push({ setting: "REDIS_WAIT_TIMEOUT_MS", message: "must be shorter than REDIS_COMMAND_TIMEOUT_MS" });
  }
  if (settings.CIRCUIT_HALF_OPEN_MAX_MS < settings.CIRCUIT_HALF_OPEN_AFTER_MS) {
    problems.push({ setting: "CIRCUIT_HALF_OPEN_MAX_MS", message: "must not be smaller than CIRCUIT_HALF_OPEN_AFTER_MS" });
  }
  if (settings.SERVICEBUS_DEADLETTER_QUEUE && !settings.SERVICEBUS_NAMESPACE && !settings.SERVICEBUS_CONNECTION_STRING) {
    problems.push({ setting: "SERVICEBUS_NAMESPACE", message: "required (or SERVICEBUS_CONNECTION_STRING) to mirror dead letters to SERVICEBUS_DEADLETTER_QUEUE" });
  }
  // The all-versions-and-deletes change feed reads from "now" or from a saved continuation only;
  // the service refuses a start from the beginning or from a time with 400
  // (https://learn.microsoft.com/azure/cosmos-db/nosql/change-feed-modes). Said at start, not as a
  // capture that fails on its first read.
  if (settings.CAPTURE_MODE === "allVersionsAndDeletes" && settings.CAPTURE_START_FROM !== "now") {
    problems.push({
      setting: "CAPTURE_START_FROM",
      message: "must be now with CAPTURE_MODE=allVersionsAndDeletes (the mode reads from now or a saved continuation only); run a reimport for what came before",
    });
  }
  return problems;
}

/** The sources from DRIFTLESS_SOURCES (JSON) or DRIFTLESS_SOURCES_FILE (a path to it), every problem of every source. */
export function parseSources(
  settings: Pick<Settings, "DRIFTLESS_SOURCES" | "DRIFTLESS_SOURCES_FILE">,
  readFile: (path: string) => string = readUtf8,
): Parsed<SourceConfig[]> {
  const inline = settings.DRIFTLESS_SOURCES;
  const file = settings.DRIFTLESS_SOURCES_FILE;
  const fail = (setting: string, message: string): Parsed<never> => ({ ok: false, problems: [{ setting, message }] });
  if (inline && file) return fail("DRIFTLESS_SOURCES", "set either DRIFTLESS_SOURCES or DRIFTLESS_SOURCES_FILE, not both");
  if (!inline && !file) return fail("DRIFTLESS_SOURCES", "required (JSON list of sources), or DRIFTLESS_SOURCES_FILE (path to it)");
  const setting = inline ? "DRIFTLESS_SOURCES" : "DRIFTLESS_SOURCES_FILE";
  let text: string;
  try {
    text = inline ?? readFile(file!);
  } catch (error) {
    return fail(setting, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(setting, `not valid JSON (${(error as Error).message})`);
  }
  // A single source may be given as an object instead of a one-element list.
  const list = Array.isArray(json) ? json : [json];
  const parsed = parse(sourcesSchema, list, (path) => `${setting}${formatPath(path)}`);
  return parsed.ok ? { ok: true, value: parsed.value.map(toSourceConfig) } : parsed;
}

function parse<S extends z.ZodType>(schema: S, input: unknown, name: (path: readonly PropertyKey[]) => string): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) => {
    const setting = name(issue.path);
    const message = issue.code === "invalid_type" && /received undefined/.test(issue.message) ? "required" : issue.message;
    return { setting, message };
  });
  return { ok: false, problems };
}

/** One ConfigError for all the problems: named after the first, listing every one when there are several. */
function orThrow<T>(parsed: Parsed<T>): T {
  if (parsed.ok) return parsed.value;
  const { problems } = parsed;
  const first = problems[0]!;
  const error = new ConfigError(first.setting, first.message);
  if (problems.length > 1) error.message = `invalid configuration:\n${problems.map((p) => `  - ${p.setting}: ${p.message}`).join("\n")}`;
  throw error;
}

function readUtf8(path: string): string {
  return readFileSync(path, "utf8");
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
}

/** Values trimmed; an empty one counts as unset, as an unset variable in a .env file often is. */
export function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") out[key] = value.trim();
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
