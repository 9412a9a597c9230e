import type { Tracer } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { noopTracer } from "./spans.js";

/**
 * driftless's traces: one tracer provider per set of services (never the global one, like the
 * MeterProvider in metrics.ts, so two services in one process, as in tests, keep their own spans).
 * The module knows exporters and sampling, nothing about batches or routes: the core opens its
 * spans through the API (spans.ts) on whatever tracer it is handed.
 */

export interface SpanExport {
  /** Shown in `Tracing.exporters`, e.g. `azure-monitor`, `otlp`. */
  readonly name: string;
  readonly exporter: SpanExporter;
  /**
   * `batch`: spans are queued and sent in the background, a batch at a time (the exporters that
   * cross the network); `simple`: each span is handed over as it ends (in-memory exporters in
   * tests, where a span must be there as soon as the work is done). @defaultValue "batch"
   */
  readonly delivery?: "batch" | "simple";
}

export interface TracingOptions {
  /** `service.name` of the resource. @defaultValue "driftless" */
  readonly serviceName?: string;
  /**
   * Share of the traces started here that are recorded, 0 to 1. A span with a parent follows the
   * parent's decision instead (ParentBased): a caller's sampled `traceparent` is always continued,
   * and a batch is never cut into recorded and unrecorded halves. @defaultValue 1
   */
  readonly sampleRatio?: number;
  readonly exports: readonly SpanExport[];
}

export interface Tracing {
  /** Names of the attached exporters; empty when tracing is off. */
  readonly exporters: readonly string[];
  /** The tracer to open spans with; the no-op tracer when there is no exporter. */
  readonly tracer: Tracer;
  /** Sends every ended span still queued (before a Functions instance may be frozen). */
  forceFlush(): Promise<void>;
  /** Flushes and stops every exporter. */
  shutdown(): Promise<void>;
}

/**
 * Without an exporter nothing is built at all: the no-op tracer's spans cost an object each, no
 * ids, no clock reads, no queue, so tracing that is not configured is close to free.
 */
export function createTracing(options: TracingOptions): Tracing {
  const { serviceName = "driftless", sampleRatio = 1, exports } = options;
  if (exports.length === 0) {
    return { exporters: [], tracer: noopTracer, forceFlush: async () => {}, shutdown: async () => {} };
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }),
    spanProcessors: exports.map(({ exporter, delivery = "batch" }) =>
      delivery === "simple" ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ),
  });
  return {
    exporters: exports.map(({ name }) => name),
    tracer: provider.getTracer("driftless"),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
