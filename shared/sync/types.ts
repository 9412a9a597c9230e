import type { Tracer } from "@opentelemetry/api";
import type { SourceConfig } from "../config/source.js";
import type { Clock } from "../core/clock.js";
import type { DependencyPause } from "../resilience/errors.js";
import type { Logger } from "../telemetry/logger.js";
import type { RelatedReader, Sink, SinkOp, SourceQueue, SourceReader } from "./ports.js";
import type { BatchReport } from "./report.js";

/*
 * The engine's own types, apart from engine.ts: its steps (settle.ts, write.ts, bisect.ts,
 * lease-guard.ts) take SyncDeps, and the engine imports them, so declaring it in engine.ts made
 * every step import the engine back.
 */

export interface SyncOptions {
  /** Keys claimed per batch (SYNC_BATCH_SIZE, whose default is in shared/config/settings.ts). */
  readonly batchSize: number;
  /** Upper bound of one bulk request body; larger batches are split (SYNC_BATCH_MAX_BYTES). */
  readonly batchMaxBytes: number;
  readonly leaseMs: number;
  readonly bulkShare: number;
  /** The longest one bulk request may take (the Elasticsearch request timeout). */
  readonly writeTimeoutMs: number;
  /** How long after capture saw a change a read older than it counts as stale (SYNC_STALE_READ_GRACE_MS; freshness.ts). */
  readonly staleReadGraceMs: number;
  /** How long a stale read's key waits before it is read again. */
  readonly staleReadRetryMs: number;
}

/** Says whether the dependencies the sync needs may be called now (the circuits, shared/resilience). */
export interface SyncGate {
  /** A pause when a circuit is open and its trial call is not due yet; undefined when the sync may go. */
  blocked(): DependencyPause | undefined;
  /** Called when a claim found nothing to do (see Circuits.idle). */
  idle?(): Promise<void>;
}

/** Everything one source's sync needs, injected so the engine never sees an SDK. */
export interface SyncDeps {
  readonly source: SourceConfig;
  readonly queue: SourceQueue;
  readonly reader: SourceReader;
  /** Reads the related documents of the source's relations; needed only by a source with relations. */
  readonly related?: RelatedReader;
  readonly sink: Sink;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: SyncOptions;
  /** Without a gate the sync always claims (tests, tools); the services wire the circuits in. */
  readonly gate?: SyncGate;
  /** Told about every settled batch (metrics, the sync history; shared/runtime/telemetry.ts). Must not throw. */
  readonly onBatch?: (batch: SettledBatch) => void;
  /** Opens the batch's spans (an OpenTelemetry API tracer: the engine never sees the SDK). @defaultValue the no-op tracer */
  readonly tracer?: Tracer;
}

/** A settled batch as observers see it: the report, the writes sent, and the members acked. */
export interface SettledBatch {
  readonly report: BatchReport;
  readonly written: readonly SinkOp[];
  readonly acked: readonly string[];
  /** Clock times (ms): before the claim, and after settling. */
  readonly startedAt: number;
  readonly settledAt: number;
}
