import { CommanderError } from "commander";
import { DriftlessError, ValidationError } from "../shared/core/errors.js";
import { ApiRefusedError } from "./operations/remote.js";

/** Exit codes of the driftless command; scripts may rely on them. */
export const EXIT = {
  ok: 0,
  /** The command failed. */
  failure: 1,
  /** Wrong arguments or options. */
  usage: 2,
  /** A setting is missing or malformed. */
  config: 3,
  /** A dependency (Redis, Elasticsearch, Cosmos DB), or in remote mode the API, could not be reached (or answered 503). */
  unavailable: 4,
  /** Remote mode: the API refused the key (HTTP 401 or 403). */
  refused: 5,
} as const;

/** The exit code for an error a command threw: the one place the CLI decides it. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof DriftlessError && error.code === "config_invalid") return EXIT.config;
  if (error instanceof ApiRefusedError) return EXIT.refused;
  // 409 (a job already active, a job already ended) is the state of things, not a mistyped command.
  if (error instanceof ValidationError) return error.status === 409 ? EXIT.failure : EXIT.usage;
  if (error instanceof DriftlessError && error.retryable) return EXIT.unavailable;
  return unreachable(error) ? EXIT.unavailable : EXIT.failure;
}

/**
 * The error as one line for stderr: `driftless: <code>: <message> (<cause>)`. Commander's own
 * errors return null: it has printed them already, with the usage.
 */
export function errorLine(error: unknown): string | null {
  if (error instanceof CommanderError) return null;
  const code = error instanceof DriftlessError ? error.code : (error as NodeJS.ErrnoException | undefined)?.code;
  let text = message(error);
  const cause = error instanceof Error ? innermostCause(error) : undefined;
  if (cause !== undefined && !text.includes(message(cause))) text += ` (${message(cause)})`;
  return `driftless: ${code ? `${code}: ` : ""}${oneLine(text)}`;
}

/** Error codes and names of a connection that could not be made or was lost (Node, ioredis, the Elasticsearch client). */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
const UNREACHABLE_NAMES = new Set([
  "MaxRetriesPerRequestError",
  "ConnectionError",
  "NoLivingConnectionsError",
  "TimeoutError",
]);

function unreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if ((code && UNREACHABLE_CODES.has(code)) || UNREACHABLE_NAMES.has(current.name)) return true;
    if (current instanceof DriftlessError && current.retryable) return true;
    if (current instanceof AggregateError && current.errors.some(unreachable)) return true;
  }
  return false;
}

function innermostCause(error: Error): Error | undefined {
  let cause: Error | undefined;
  for (let current = error.cause, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++)
    cause = current;
  return cause;
}

function message(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // An AggregateError (a connection tried on IPv6 and IPv4) has no message of its own.
  if (error.message === "" && error instanceof AggregateError) return error.errors.map(message).join("; ");
  return error.message || error.name;
}

/** Newlines folded, and user info taken out of any URL, since a message may quote one. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1");
}
