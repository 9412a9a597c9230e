import type { Config } from "../config/load-config.js";
import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { SearchClient as Client } from "../elastic/client.js";
import {
  countSyncEvents,
  syncEventsTimeline,
  ensureSyncEventsStream,
  writeSyncEvents,
} from "../elastic/sync-events.js";
import { createSyncHistory, type SyncHistory } from "../history/sync-history.js";
import type { SourceQueue } from "../sync/ports.js";
import type { SettledBatch } from "../sync/types.js";
import { createAzureMonitorReader, createAzureMonitorTraceExporter } from "../telemetry/azure-monitor.js";
import type { Logger } from "../telemetry/logger.js";
import { createMetrics, type Metrics, type QueueReading } from "../telemetry/metrics.js";
import { createOtlpTraceExporter } from "../telemetry/otlp.js";
import { createTracing, type SpanExport, type Tracing } from "../telemetry/tracing.js";

/**
 * Wires telemetry to the core without the core knowing: the engine's settled batches and the
 * queue's enqueues become metrics and sync events here. Nothing in this file may fail or slow
 * the sync: observers catch everything, event writes run in the background.
 */

/** The metrics of one set of services: Prometheus always (read on demand), Azure Monitor when configured. */
export function createServiceMetrics(config: Config): Metrics {
  const azure = config.telemetry.azureMonitor;
  return createMetrics({ readers: azure ? [{ name: "azure-monitor", reader: createAzureMonitorReader(azure) }] : [] });
}

/**
 * The traces of one set of services: Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is
 * set, OTLP when an OTEL_EXPORTER_OTLP_* endpoint is, both when both are; `extra` exporters come
 * from the caller (tests). With none of them tracing is off, at next to no cost.
 */
export function createServiceTracing(config: Config, extra: readonly SpanExport[] = []): Tracing {
  const { azureMonitor, traces } = config.telemetry;
  const exports: SpanExport[] = [];
  if (azureMonitor) exports.push({ name: "azure-monitor", exporter: createAzureMonitorTraceExporter(azureMonitor) });
  if (traces.otlp) exports.push({ name: "otlp", exporter: createOtlpTraceExporter(traces.otlp) });
  return createTracing({ sampleRatio: traces.sampleRatio, exports: [...exports, ...extra] });
}

/** The sync history over the events data stream; undefined when SYNC_EVENTS_ENABLED is off. */
export function createServiceHistory(
  config: Config,
  elastic: Client,
  metrics: Metrics,
  clock: Clock,
  logger: Logger,
): SyncHistory | undefined {
  const events = config.telemetry.syncEvents;
  if (!events) return undefined;
  return createSyncHistory({
    clock,
    logger,
    onEvents: (outcome, source, n) => metrics.countEvents(outcome, source, n),
    store: {
      async ensure() {
        const { retention } = await ensureSyncEventsStream(elastic, events);
        if (!retention)
          logger.warn(
            { stream: events.stream },
            "this Elasticsearch refused the data stream lifecycle: sync events are kept until deleted",
          );
      },
      write: (batch) => writeSyncEvents(elastic, events.stream, batch),
      count: (query) => countSyncEvents(elastic, events.stream, query),
      timeline: (query) => syncEventsTimeline(elastic, events.stream, query),
    },
  });
}

/** The engine's `onBatch` for one source: key counters, batch latency, and the batch's sync events. */
export function batchObserver(
  source: string,
  metrics: Metrics,
  history: SyncHistory | undefined,
  logger: Logger,
): (batch: SettledBatch) => void {
  return (batch) => {
    try {
      const { report } = batch;
      metrics.countKeys("claimed", source, report.claimed);
      metrics.countKeys("indexed", source, report.indexed);
      metrics.countKeys("deleted", source, report.deleted);
      metrics.countKeys("retried", source, report.retried);
      metrics.countKeys("dead_lettered", source, report.deadLettered);
      metrics.countKeys("released", source, report.released);
      metrics.recordBatch(source, batch.settledAt - batch.startedAt);
      if (history) {
        const acked = new Set(batch.acked);
        history.record(
          source,
          batch.written.filter((op) => acked.has(op.member)),
          batch.settledAt,
        );
      }
    } catch (error) {
      logger.warn({ source, err: describeError(error) }, "recording a batch's telemetry failed");
    }
  };
}

/**
 * Counts what goes into the queue whoever enqueues (the HTTP producer, change capture, jobs) and
 * what the lease reaper returns. Everything else passes straight through.
 */
export function instrumentQueue(queue: SourceQueue, metrics: Metrics): SourceQueue {
  return {
    ...queue,
    async enqueue(keys, options) {
      const result = await queue.enqueue(keys, options);
      metrics.countKeys("enqueued", queue.source, result.enqueued, { lane: options.lane });
      metrics.countKeys("duplicates", queue.source, result.duplicates, { lane: options.lane });
      return result;
    },
    async reject(failures, options) {
      const rejected = await queue.reject(failures, options);
      metrics.countKeys("dead_lettered", queue.source, rejected, { by: "capture" });
      return rejected;
    },
    async reap(now, max) {
      const result = await queue.reap(now, max);
      metrics.countKeys("reaped", queue.source, result.requeued);
      metrics.countKeys("dead_lettered", queue.source, result.deadLettered, { by: "reaper" });
      return result;
    },
  };
}

/** The observable gauges: backlog and lag per source (one stats call each per collection), circuit state per dependency. */
export function observeGauges(
  metrics: Metrics,
  sources: Iterable<{ readonly queue: SourceQueue }>,
  circuitStates: () => Readonly<Record<string, string>>,
  clock: Clock,
): void {
  const queues = [...sources].map((source) => source.queue);
  metrics.observeQueues(async (): Promise<QueueReading[]> => {
    const now = clock.now();
    const settled = await Promise.allSettled(
      queues.map(async (queue) => ({ source: queue.source, ...(await withinMs(queue.stats(now), STATS_TIMEOUT_MS)) })),
    );
    return settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  });
  metrics.observeCircuits(circuitStates);
}

/** A scrape must answer within Prometheus's scrape timeout (10 s by default) even while Redis hangs. */
const STATS_TIMEOUT_MS = 5000;

function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
