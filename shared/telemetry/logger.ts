import { ecsFormat } from "@elastic/ecs-pino-format";
import { pino } from "pino";
import type { LineSink } from "./invocation-logs.js";

/** The logging surface the core uses; pino fits it, and so does an adapter over a Functions context. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(fields: object): Logger;
}

/** Custom fields go under this ECS namespace (`driftless.source`, `driftless.batches`, …). */
export const LOG_NAMESPACE = "driftless";

/**
 * Top-level names that ECS defines (and ecs-logging writes). Any other field of a log call is moved
 * under `driftless.`: driftless logs `source` (a source name) and `url` (a string), while ECS
 * defines both as objects, and one such line would break the mapping of an ECS index.
 */
const ECS_ROOTS = new Set([
  "@timestamp",
  "message",
  "log",
  "ecs",
  "service",
  "event",
  "error",
  "process",
  "host",
  "trace",
  "span",
  "transaction",
  "labels",
  "tags",
]);

/** Field names whose values are secrets wherever they appear (second line of defence). */
const SECRET_FIELDS = ["apiKey", "key", "password", "authorization", "connectionString"];

// Redaction runs on the formatted line, so it names both a field moved under the namespace
// (`["driftless.key"]`, a dotted top-level name) and one nested a level below any field (`*.key`).
const REDACT_PATHS = SECRET_FIELDS.flatMap((name) => [name, `["${LOG_NAMESPACE}.${name}"]`, `*.${name}`]);

/**
 * Structured JSON logs in the Elastic Common Schema (ecs-logging): `@timestamp`, `log.level`,
 * `message`, `service.name`, `error.*`, and driftless's own fields under `driftless.*`, one JSON
 * object per line, ready for Elasticsearch. Secret-bearing fields are redacted by name as a second
 * line of defence; the first is never putting a secret into a log field or an error message at all.
 */
export function createLogger(level: string, destination?: LineSink): Logger {
  const ecs = ecsFormat({ serviceName: "driftless", convertErr: true, apmIntegration: false });
  const ecsBindings = ecs.formatters!.bindings!;
  const ecsLog = ecs.formatters!.log!;
  const root = pino(
    {
      ...ecs,
      level,
      formatters: {
        ...ecs.formatters,
        bindings: (bindings) => namespaced(ecsBindings(bindings) as Record<string, unknown>),
        log: (fields) =>
          namespaced(ecsLog(withErrorMessage(fields as Record<string, unknown>)) as Record<string, unknown>),
      },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    destination as pino.DestinationStream | undefined,
  );
  return ecsLogger(root);
}

/**
 * Children keep their fields here and merge them into each call instead of using pino's child
 * bindings: pino writes bindings and call fields side by side, so a field given in both (a
 * capture child bound to `source` logging `source` again) would appear twice in one JSON object,
 * which Elasticsearch refuses as a duplicate field. Merged, the call's value wins, and every
 * field goes through the same ECS formatter.
 */
function ecsLogger(instance: pino.Logger, bound?: object): Logger {
  const merged = (fields: object) => (bound ? { ...bound, ...fields } : fields);
  return {
    debug: (fields, message) => instance.debug(merged(fields), message),
    info: (fields, message) => instance.info(merged(fields), message),
    warn: (fields, message) => instance.warn(merged(fields), message),
    error: (fields, message) => instance.error(merged(fields), message),
    child: (fields) => ecsLogger(instance, merged(fields)),
  };
}

export const silentLogger: Logger = createLogger("silent");

/** driftless logs errors as `err: describeError(error)` (a string); ECS wants `error.message`. */
function withErrorMessage(fields: Record<string, unknown>): Record<string, unknown> {
  if (typeof fields.err !== "string") return fields;
  const { err, ...rest } = fields;
  return { ...rest, "error.message": err };
}

function namespaced(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const root = name.split(".", 1)[0]!;
    const ecsShaped =
      name.includes(".") ||
      root === "@timestamp" ||
      root === "message" ||
      isObject(value) ||
      (root === "tags" && Array.isArray(value));
    const ecsField = ECS_ROOTS.has(root) && ecsShaped;
    out[ecsField ? name : `${LOG_NAMESPACE}.${name}`] = value;
  }
  return out;
}

function isObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Removes user info from a URL before it is logged (redis://:password@host, https://user:pass@host). */
export function safeUrl(value: string): string {
  try {
    const url = new URL(value);
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return "[unparseable url]";
  }
}
