import { DependencyError } from "../core/errors.js";
import { formatReason, type EsErrorCause, type RequestFailure } from "./classify.js";

export type { RequestFailure };

/**
 * A failed client call reduced to plain data. Client errors are never passed on as they are:
 * their `meta` holds the connection (URL, headers) and the request, which is where secrets live.
 * Only the status, the Elasticsearch error type and reason, and the message are kept.
 */
export function toRequestFailure(error: unknown): RequestFailure & { readonly responded: boolean } {
  if (isResponseError(error)) {
    const statusCode = error.meta.statusCode ?? undefined;
    const body: unknown = error.meta.body;
    const cause = errorCauseOf(body);
    const detail = cause ? formatReason(cause) : typeof body === "string" && body ? body : error.name;
    return { statusCode, type: cause?.type, description: scrub(`${statusCode ?? "?"} ${detail}`), responded: true };
  }
  if (error instanceof Error) {
    return {
      statusCode: undefined,
      type: undefined,
      description: scrub(`${error.name}: ${error.message}`),
      responded: false,
    };
  }
  return { statusCode: undefined, type: undefined, description: scrub(String(error)), responded: false };
}

/**
 * An error response from the engine, by shape: the Elasticsearch and the OpenSearch client each
 * have a ResponseError class of their own, with the same name and the same `meta`.
 */
function isResponseError(error: unknown): error is Error & { meta: { statusCode?: number | null; body?: unknown } } {
  if (!(error instanceof Error) || error.name !== "ResponseError") return false;
  const meta = (error as { meta?: unknown }).meta;
  return meta !== null && typeof meta === "object";
}

/** No connection could be made or it dropped (either client's ConnectionError). */
export function isConnectionError(error: unknown): boolean {
  return error instanceof Error && error.name === "ConnectionError";
}

/** A retryable status: no answer, a timeout, throttling, or a server-side failure. */
export function isTransient(failure: RequestFailure): boolean {
  const status = failure.statusCode;
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/** A failed management call (index, mapping, alias) as a DependencyError, retryable when transient. */
export function dependencyFailure(action: string, failure: RequestFailure): DependencyError {
  return new DependencyError("elasticsearch", `elasticsearch ${action} failed: ${failure.description}`, {
    retryable: isTransient(failure),
    ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }),
  });
}

function errorCauseOf(body: unknown): EsErrorCause | undefined {
  if (!body || typeof body !== "object") return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return { type: "error", reason: error };
  if (error && typeof error === "object" && typeof (error as EsErrorCause).type === "string")
    return error as EsErrorCause;
  return undefined;
}

/** Belt and braces: user info in any URL a lower layer put into a message. */
function scrub(text: string): string {
  return text.replace(/(\w+:\/\/)[^/\s@]*@/g, "$1[redacted]@");
}
