import { DependencyError } from "../core/errors.js";

export type Dependency = DependencyError["dependency"];

/**
 * Why a dependency cannot take work now:
 * - `circuit_open`: it failed often enough that calls are not even tried until a trial is due;
 * - `throttled`: it answered 429 (Elasticsearch) or kept answering 429 after the SDK's own
 *   retry-after waits (Cosmos): it is up, but wants less;
 * - `unavailable`: it did not answer, timed out, or answered 5xx / refused the credentials.
 */
export type PauseKind = "circuit_open" | "throttled" | "unavailable";

/**
 * A dependency cannot take work right now. Nothing is wrong with the documents: the sync gives
 * the claimed keys back to the queue without spending an attempt (queue.release) and waits
 * `retryAfterMs` before it claims again. In the HTTP API it is a 503 like any DependencyError.
 */
export class DependencyPause extends DependencyError {
  readonly kind: PauseKind;
  readonly retryAfterMs: number;

  constructor(
    dependency: Dependency,
    kind: PauseKind,
    message: string,
    retryAfterMs: number,
    options: { cause?: unknown; statusCode?: number } = {},
  ) {
    super(dependency, message, { ...options, retryable: true });
    this.kind = kind;
    this.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
  }
}

/**
 * Elasticsearch did not answer a bulk request within the request timeout. Like any pause, but it
 * may be a document of the request rather than the cluster: the sync splits requests whose keys
 * keep timing out (shared/sync/bisect.ts).
 */
export class BulkTimeoutPause extends DependencyPause {}

export function isPause(error: unknown): error is DependencyPause {
  return error instanceof DependencyPause;
}
