import type { Attributes, Counter, Meter, ObservableGauge } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, type MetricReader } from "@opentelemetry/sdk-metrics";

/**
 * driftless's OpenTelemetry instruments, one MeterProvider per set of services (never the global
 * one, so two services in one process, as in tests, keep their own counts). The module knows
 * instrument names and readers, nothing about queues or batches: the runtime wiring
 * (shared/runtime/telemetry.ts) turns reports into the numbers recorded here.
 */

/** Counters of keys, one per step a key can reach. Prometheus: `driftless_keys_<name>_total{source}`. */
export const KEY_COUNTERS = {
  enqueued: "keys newly made pending (duplicates of a pending key excluded)",
  duplicates: "keys enqueued while already pending",
  claimed: "keys claimed by a sync batch",
  indexed: "keys whose current document was written to the index",
  deleted: "keys removed from the index (gone from Cosmos, or soft-deleted)",
  retried: "keys that failed and wait for another attempt",
  dead_lettered: "keys moved to the dead letters",
  released: "keys handed back without spending an attempt (a dependency could not take them)",
  reaped: "expired leases returned to the queue",
} as const;
export type KeyCounter = keyof typeof KEY_COUNTERS;

/** Outcomes of the sync history's event writes. Prometheus: `driftless_sync_events_<name>_total`. */
export const EVENT_COUNTERS = {
  written: "sync events written to the events data stream",
  failed: "sync events that could not be written (the sync went on)",
  dropped: "sync events not written because too many writes were already waiting",
} as const;
export type EventCounter = keyof typeof EVENT_COUNTERS;

/** One source's queue as the gauges show it. */
export interface QueueReading {
  readonly source: string;
  readonly pending: number;
  readonly inflight: number;
  readonly deadLettered: number;
  readonly oldestPendingAgeMs: number;
}

/**
 * Circuit states as gauge values: 0 closed (calls go through), 1 half-open (one trial call),
 * 2 open (calls refused), 3 isolated (held open by hand).
 */
export const CIRCUIT_STATE_VALUES: Readonly<Record<string, number>> = {
  closed: 0,
  "half-open": 1,
  open: 2,
  isolated: 3,
};

export interface MetricsOptions {
  /** `service.name` of the resource. @defaultValue "driftless" */
  readonly serviceName?: string;
  /** Keep a Prometheus reader whose text `prometheusText()` renders on demand (worker mode's `GET /metrics`). @defaultValue true */
  readonly prometheus?: boolean;
  /** More readers, e.g. the Azure Monitor one (azure-monitor.ts). */
  readonly readers?: readonly { readonly name: string; readonly reader: MetricReader }[];
}

export interface Metrics {
  /** Names of the attached readers, e.g. `["prometheus", "azure-monitor"]`. */
  readonly exporters: readonly string[];
  countKeys(counter: KeyCounter, source: string, n: number, attributes?: Attributes): void;
  countEvents(counter: EventCounter, source: string, n: number): void;
  /** Wall time of one sync batch, claim to settle. */
  recordBatch(source: string, durationMs: number): void;
  /** What the queue gauges read at each collection; a failing read skips this collection's values. */
  observeQueues(read: () => Promise<readonly QueueReading[]>): void;
  /** What the circuit gauge reads at each collection: state name per dependency. */
  observeCircuits(read: () => Readonly<Record<string, string>>): void;
  /** Every instrument in the Prometheus text exposition format; null without a Prometheus reader. */
  prometheusText(): Promise<string> | null;
  /** Flushes and stops every reader (an exporting reader sends what it still holds). */
  shutdown(): Promise<void>;
}

/** Prometheus text exposition format 0.0.4, the `Content-Type` of `prometheusText()`. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const BATCH_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const { serviceName = "driftless", prometheus = true } = options;
  const named: { name: string; reader: MetricReader }[] = [...(options.readers ?? [])];
  // The exporter's own HTTP server stays off: worker mode serves the text from its API server.
  const exporter = prometheus ? new PrometheusExporter({ preventServerStart: true }) : undefined;
  if (exporter) named.unshift({ name: "prometheus", reader: exporter });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    readers: named.map(({ reader }) => reader),
  });
  const meter = provider.getMeter("driftless");
  const keys = counters(meter, "driftless.keys", KEY_COUNTERS);
  const events = counters(meter, "driftless.sync_events", EVENT_COUNTERS);
  // Seconds in the name too: the Prometheus exporter does not add unit suffixes, and Prometheus
  // conventions want them.
  const batch = meter.createHistogram("driftless.batch.duration_seconds", {
    description: "wall time of one sync batch, from claim to settle",
    unit: "s",
    advice: { explicitBucketBoundaries: BATCH_SECONDS_BUCKETS },
  });
  // No otel_scope_* labels: there is one meter, and the labels would only add noise to every series.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);

  return {
    exporters: named.map(({ name }) => name),
    countKeys(counter, source, n, attributes) {
      if (n > 0) keys[counter].add(n, { source, ...attributes });
    },
    countEvents(counter, source, n) {
      if (n > 0) events[counter].add(n, { source });
    },
    recordBatch(source, durationMs) {
      batch.record(Math.max(0, durationMs) / 1000, { source });
    },
    observeQueues(read) {
      observeQueueGauges(meter, read);
    },
    observeCircuits(read) {
      meter
        .createObservableGauge("driftless.circuit.state", {
          description: "circuit breaker per dependency: 0 closed, 1 half-open, 2 open, 3 isolated",
        })
        .addCallback((result) => {
          for (const [dependency, state] of Object.entries(read())) {
            const value = CIRCUIT_STATE_VALUES[state];
            if (value !== undefined) result.observe(value, { dependency });
          }
        });
    },
    prometheusText() {
      if (!exporter) return null;
      return exporter.collect().then(({ resourceMetrics }) => serializer.serialize(resourceMetrics));
    },
    shutdown: () => provider.shutdown(),
  };
}

function counters<T extends Record<string, string>>(meter: Meter, prefix: string, names: T): Record<keyof T, Counter> {
  const out = {} as Record<keyof T, Counter>;
  for (const [name, description] of Object.entries(names)) {
    out[name as keyof T] = meter.createCounter(`${prefix}.${name}`, { description });
  }
  return out;
}

/** One read per collection feeds every queue gauge, so a scrape costs one stats call per source. */
function observeQueueGauges(meter: Meter, read: () => Promise<readonly QueueReading[]>) {
  const gauge = (name: string, description: string, unit?: string) =>
    meter.createObservableGauge(name, { description, ...(unit ? { unit } : {}) });
  const pending = gauge("driftless.queue.pending", "keys waiting to be synced (the backlog)");
  const inflight = gauge("driftless.queue.inflight", "keys claimed by a batch and not settled yet");
  const dead = gauge("driftless.queue.dead_lettered", "keys in the dead letters");
  const lag = gauge("driftless.queue.oldest_pending_age_seconds", "age of the oldest due pending key (the lag)", "s");
  const all: ObservableGauge[] = [pending, inflight, dead, lag];
  meter.addBatchObservableCallback(async (result) => {
    let readings: readonly QueueReading[];
    try {
      readings = await read();
    } catch {
      return; // Redis is unreachable: no values this time, rather than made-up zeros.
    }
    for (const reading of readings) {
      const attributes = { source: reading.source };
      result.observe(pending, reading.pending, attributes);
      result.observe(inflight, reading.inflight, attributes);
      result.observe(dead, reading.deadLettered, attributes);
      result.observe(lag, reading.oldestPendingAgeMs / 1000, attributes);
    }
  }, all);
}
