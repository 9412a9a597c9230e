import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The log methods of an Azure Functions `InvocationContext`: what the host ties to one invocation
 * (Application Insights correlates the lines with its request or trigger).
 */
export interface InvocationLog {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const current = new AsyncLocalStorage<InvocationLog>();

/**
 * Runs `work` as part of one invocation: every log line written meanwhile, in this async context
 * (awaited calls, timers and promises it starts), goes to `log` instead of the process's output.
 * The Functions handlers are wrapped in it (functions/lib/invocation.ts); worker mode and the CLI
 * never are, and keep writing JSON lines.
 */
export function withInvocationLog<T>(log: InvocationLog, work: () => T): T {
  return current.run(log, work);
}

/** Something a formatted log line can be written to: a stream, or pino's destination. */
export interface LineSink {
  write(line: string): unknown;
}

/** ECS fields the host records by itself for every invocation line; the rest are the line's own. */
const HOST_FIELDS = new Set([
  "@timestamp",
  "log.level",
  "message",
  "ecs.version",
  "service.name",
  "process.pid",
  "host.hostname",
]);

/**
 * A destination for the logger: a line written inside an invocation goes to that invocation's
 * log method of its level, the message first and the line's own fields (already redacted: the
 * logger formats before it writes) as JSON after it; any other line goes to `fallback`. pino
 * writes synchronously to a plain destination, so the async context here is the caller's.
 */
export function invocationRouted(fallback: LineSink): LineSink {
  return {
    write(line: string) {
      const log = current.getStore();
      if (!log) return fallback.write(line);
      toInvocation(log, line);
      return true;
    },
  };
}

function toInvocation(log: InvocationLog, line: string): void {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(line) as Record<string, unknown>;
  } catch {
    log.info(line.trimEnd());
    return;
  }
  const own = Object.fromEntries(Object.entries(fields).filter(([name]) => !HOST_FIELDS.has(name)));
  const message = typeof fields.message === "string" ? fields.message : "";
  const args: unknown[] = Object.keys(own).length > 0 ? [message, JSON.stringify(own)] : [message];
  switch (fields["log.level"]) {
    case "trace":
      log.trace(...args);
      return;
    case "debug":
      log.debug(...args);
      return;
    case "warn":
      log.warn(...args);
      return;
    case "error":
    case "fatal":
      log.error(...args);
      return;
    default:
      log.info(...args);
      return;
  }
}
