import { AzureMonitorMetricExporter, AzureMonitorTraceExporter } from "@azure/monitor-opentelemetry-exporter";
import { DefaultAzureCredential } from "@azure/identity";
import { PeriodicExportingMetricReader, type MetricReader } from "@opentelemetry/sdk-metrics";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

export interface AzureMonitorOptions {
  /** APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=…;IngestionEndpoint=…`. */
  readonly connectionString: string;
  /**
   * APPLICATIONINSIGHTS_AUTHENTICATION_STRING, e.g. `Authorization=AAD;ClientId=<id>`: the
   * Application Insights resource refuses the instrumentation key alone (local auth disabled, as
   * the Bicep deploys it), so the exporter signs in with the managed identity it names.
   */
  readonly authenticationString?: string;
  /** How often the metrics are sent. */
  readonly exportIntervalMs: number;
}

/**
 * The only module that imports @azure/monitor-opentelemetry-exporter: a periodic reader that
 * sends the metrics to Application Insights (customMetrics). Building it makes no network call.
 */
export function createAzureMonitorReader(options: AzureMonitorOptions): MetricReader {
  const exporter = new AzureMonitorMetricExporter(exporterOptions(options));
  return new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: options.exportIntervalMs,
    exportTimeoutMillis: Math.min(30_000, options.exportIntervalMs),
  });
}

/**
 * The span exporter to Application Insights (requests, dependencies): the same resource and sign-in
 * as the metrics. tracing.ts batches what it sends. Building it makes no network call.
 */
export function createAzureMonitorTraceExporter(options: Omit<AzureMonitorOptions, "exportIntervalMs">): SpanExporter {
  return new AzureMonitorTraceExporter(exporterOptions(options));
}

function exporterOptions(options: Omit<AzureMonitorOptions, "exportIntervalMs">) {
  const auth = parseAuthenticationString(options.authenticationString);
  return {
    connectionString: options.connectionString,
    ...(auth.aad
      ? { credential: new DefaultAzureCredential(auth.clientId ? { managedIdentityClientId: auth.clientId } : {}) }
      : {}),
  };
}

/** `Authorization=AAD;ClientId=…` → sign in with Entra ID as that (user-assigned) identity. */
export function parseAuthenticationString(value: string | undefined): { aad: boolean; clientId?: string } {
  if (!value) return { aad: false };
  const parts = new Map(
    value
      .split(";")
      .map((part) => part.split("=").map((side) => side.trim()))
      .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== "")
      .map(([key, val]) => [key.toLowerCase(), val] as const),
  );
  const aad = parts.get("authorization")?.toUpperCase() === "AAD";
  const clientId = parts.get("clientid");
  return clientId ? { aad, clientId } : { aad };
}
