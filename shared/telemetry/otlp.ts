import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

export interface OtlpOptions {
  /** The traces URL, e.g. `http://collector:4318/v1/traces` (load-config.ts resolves the OTEL_* settings to it). */
  readonly url: string;
  /** Sent with every request (a collector's `Authorization`); never logged. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Spans over OTLP/HTTP (JSON encoding), for a collector, Jaeger or Tempo: worker mode's usual
 * trace backend. URL and headers are passed from the validated config, so they win over the
 * exporter's own reading of the environment (which still supplies its other standard options,
 * such as OTEL_EXPORTER_OTLP_TIMEOUT). Building it makes no network call.
 */
export function createOtlpTraceExporter(options: OtlpOptions): SpanExporter {
  return new OTLPTraceExporter({ url: options.url, headers: { ...options.headers } });
}
