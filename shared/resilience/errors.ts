import { DependencyError } from "../core/errors.js";
import type { ItemOutcome, ReadResult } from "../sync/ports.js";

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

/**
 * Cosmos answered part of a batch of reads and refused the rest (429 past the SDK's retries, or
 * no answer for some keys): a pause, with the reads it did answer. A read that was answered is as
 * good as any other, and its request units are spent: the sync writes those keys and releases only
 * `unserved` (guard-reader.ts). A caller that only knows DependencyPause treats it as a pause of
 * the whole batch, as before.
 */
export class PartlyServedPause extends DependencyPause {
  /** Documents read (as the read's `prepare` made them), documents not found, and failures for a document's own reason. */
  readonly served: readonly ReadResult<unknown>[];
  /** The keys Cosmos did not serve, to release without spending an attempt. */
  readonly unserved: readonly string[];

  constructor(
    pause: { kind: PauseKind; message: string; retryAfterMs: number; statusCode?: number },
    served: readonly ReadResult<unknown>[],
    unserved: readonly string[],
  ) {
    super("cosmos", pause.kind, pause.message, pause.retryAfterMs, {
      ...(pause.statusCode === undefined ? {} : { statusCode: pause.statusCode }),
    });
    this.served = served;
    this.unserved = unserved;
  }
}

/**
 * Elasticsearch wrote part of a bulk request and shed the rest (the items of a loaded node's
 * shards: 429 es_rejected_execution_exception), or could not take them for the cluster's state:
 * a pause, with the items it judged. Those are settled as usual; only `unwritten` wait, released
 * without spending an attempt, since no document is at fault (guard-sink.ts).
 */
export class PartlyWrittenPause extends DependencyPause {
  /** Written, or refused for a document's own reason. */
  readonly judged: readonly ItemOutcome[];
  /** The keys of the items Elasticsearch shed, to release without spending an attempt. */
  readonly unwritten: readonly string[];

  constructor(
    pause: { kind: PauseKind; message: string; retryAfterMs: number },
    judged: readonly ItemOutcome[],
    unwritten: readonly string[],
  ) {
    super("elasticsearch", pause.kind, pause.message, pause.retryAfterMs);
    this.judged = judged;
    this.unwritten = unwritten;
  }
}

export function isPause(error: unknown): error is DependencyPause {
  return error instanceof DependencyPause;
}
