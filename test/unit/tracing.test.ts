import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { createServiceTracing } from "../../shared/runtime/telemetry.js";
import { endRequestSpan, remoteParent, startRequestSpan } from "../../shared/telemetry/http-spans.js";
import { inSpan, noopTracer } from "../../shared/telemetry/spans.js";
import { createTracing } from "../../shared/telemetry/tracing.js";
import { BASE_ENV, configError as invalid, CONNECTION_STRING } from "../setup/config-env.js";

const OTLP = "http://127.0.0.1:9"; // a closed local port, like the connection string's
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

function configError(env: Record<string, string>) {
  return invalid({ ...BASE_ENV, ...env });
}

describe("trace settings", () => {
  it("default to every trace and no OTLP exporter", () => {
    expect(loadConfig(BASE_ENV).telemetry.traces).toEqual({ sampleRatio: 1 });
  });

  it("resolve the OTLP URL: the base endpoint gets /v1/traces, the traces endpoint is used as given and wins", () => {
    const traces = (env: Record<string, string>) => loadConfig({ ...BASE_ENV, ...env }).telemetry.traces;
    expect(traces({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).otlp).toEqual({
      url: "http://collector:4318/v1/traces",
      headers: {},
    });
    expect(traces({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://apm.example/otlp/" }).otlp?.url).toBe(
      "https://apm.example/otlp/v1/traces",
    );
    expect(
      traces({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://tempo:4318/custom/traces",
      }).otlp?.url,
    ).toBe("http://tempo:4318/custom/traces");
    expect(traces({ OTEL_EXPORTER_OTLP_ENDPOINT: OTLP, TRACES_SAMPLE_RATIO: "0.25" }).sampleRatio).toBe(0.25);
  });

  it("parse OTLP headers (percent-encoded values; the traces-only setting wins per name)", () => {
    const { otlp } = loadConfig({
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: OTLP,
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20s3cret, x-tenant = a",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=b",
    }).telemetry.traces;
    expect(otlp?.headers).toEqual({ Authorization: "Bearer s3cret", "x-tenant": "b" });
  });

  it.each([
    ["1.5", "TRACES_SAMPLE_RATIO"],
    ["-0.1", "TRACES_SAMPLE_RATIO"],
    ["half", "TRACES_SAMPLE_RATIO"],
  ])("refuses the sample ratio %s with a message that names the setting and the range", (value, setting) => {
    const error = configError({ TRACES_SAMPLE_RATIO: value });
    expect(error.setting).toBe(setting);
    expect(error.message).toMatch(/TRACES_SAMPLE_RATIO: must be a number from 0 to 1/);
  });

  it("refuses an endpoint that is not http(s), and malformed headers without printing them", () => {
    expect(configError({ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317" }).message).toMatch(
      /OTEL_EXPORTER_OTLP_ENDPOINT: must be a http:\/\/ or https:\/\/ URL/,
    );
    expect(configError({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" }).setting).toBe(
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    );
    for (const bad of ["Bearer-s3cret-token", "=s3cret-token", "a=%E0%A4%A"]) {
      const error = configError({ OTEL_EXPORTER_OTLP_HEADERS: bad });
      expect(error.setting).toBe("OTEL_EXPORTER_OTLP_HEADERS");
      expect(error.message).toMatch(/name=value pairs/);
      expect(error.message).not.toContain("s3cret");
    }
  });
});

describe("exporter selection", () => {
  const saved = process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
  // The Azure exporter's own usage statistics ("statsbeat") would go to a Microsoft endpoint.
  beforeAll(() => {
    process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = "true";
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
    else process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = saved;
  });

  it.each([
    ["nothing configured: tracing off", {}, []],
    ["Application Insights", { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING }, ["azure-monitor"]],
    ["an OTLP endpoint", { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP }, ["otlp"]],
    ["an OTLP traces endpoint", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${OTLP}/v1/traces` }, ["otlp"]],
    [
      "both",
      { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING, OTEL_EXPORTER_OTLP_ENDPOINT: OTLP },
      ["azure-monitor", "otlp"],
    ],
  ])("%s", async (_name, env, exporters) => {
    const tracing = createServiceTracing(loadConfig({ ...BASE_ENV, ...env }));
    expect(tracing.exporters).toEqual(exporters);
    const span = tracing.tracer.startSpan("probe", {}, ROOT_CONTEXT);
    expect(span.isRecording()).toBe(exporters.length > 0);
    // Never ended: nothing is queued, so shutting down sends nothing.
    await tracing.shutdown();
  });

  it("uses the no-op tracer when nothing is configured, even with a global provider registered elsewhere", () => {
    expect(createServiceTracing(loadConfig(BASE_ENV)).tracer).toBe(noopTracer);
  });

  it("adds the caller's exporters (tests) to the configured ones", async () => {
    const memory = new InMemorySpanExporter();
    const tracing = createServiceTracing(loadConfig(BASE_ENV), [
      { name: "memory", exporter: memory, delivery: "simple" },
    ]);
    expect(tracing.exporters).toEqual(["memory"]);
    tracing.tracer.startSpan("one", {}, ROOT_CONTEXT).end();
    expect(memory.getFinishedSpans().map((span) => span.name)).toEqual(["one"]);
    await tracing.shutdown();
  });
});

describe("sampling", () => {
  it("records no trace started here at ratio 0, but follows a caller's sampled traceparent", async () => {
    const memory = new InMemorySpanExporter();
    const tracing = createTracing({
      sampleRatio: 0,
      exports: [{ name: "memory", exporter: memory, delivery: "simple" }],
    });
    await inSpan(tracing.tracer, "root", ROOT_CONTEXT, {}, async (_span, parent) => {
      await inSpan(tracing.tracer, "child", parent, {}, async () => undefined);
    });
    expect(memory.getFinishedSpans()).toEqual([]);

    const sampled = remoteParent(`00-${TRACE_ID}-${PARENT_ID}-01`);
    await inSpan(tracing.tracer, "continued", sampled, {}, async () => undefined);
    const unsampled = remoteParent(`00-${TRACE_ID}-${PARENT_ID}-00`);
    await inSpan(tracing.tracer, "declined", unsampled, {}, async () => undefined);
    expect(
      memory.getFinishedSpans().map((span) => [span.name, span.spanContext().traceId, span.parentSpanContext?.spanId]),
    ).toEqual([["continued", TRACE_ID, PARENT_ID]]);
    await tracing.shutdown();
  });

  it("records every trace at ratio 1, children under their parent", async () => {
    const memory = new InMemorySpanExporter();
    const tracing = createTracing({ exports: [{ name: "memory", exporter: memory, delivery: "simple" }] });
    await expect(
      inSpan(
        tracing.tracer,
        "parent",
        ROOT_CONTEXT,
        { kind: SpanKind.CLIENT, attributes: { "driftless.keys": 3 } },
        async (_span, parent) => {
          await inSpan(tracing.tracer, "child", parent, {}, async () => {
            throw new TypeError("the child failed");
          });
        },
      ),
    ).rejects.toThrow("the child failed");
    const [child, parent] = memory.getFinishedSpans();
    expect(parent).toMatchObject({
      name: "parent",
      kind: SpanKind.CLIENT,
      attributes: { "driftless.keys": 3, "error.type": "TypeError" },
    });
    expect(child?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(child?.spanContext().traceId).toBe(parent?.spanContext().traceId);
    expect(child?.status).toEqual({ code: SpanStatusCode.ERROR, message: "TypeError: the child failed" });
    await tracing.shutdown();
  });
});

describe("request spans", () => {
  const memory = new InMemorySpanExporter();
  const tracing = createTracing({ exports: [{ name: "memory", exporter: memory, delivery: "simple" }] });
  afterAll(() => tracing.shutdown());

  it("continue a valid traceparent and start a new trace on a malformed one", () => {
    expect(trace.getSpanContext(remoteParent(`00-${TRACE_ID}-${PARENT_ID}-01`, "vendor=x"))).toMatchObject({
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      isRemote: true,
      traceFlags: 1,
    });
    for (const bad of [undefined, "", "00-xyz-01", `00-${"0".repeat(32)}-${PARENT_ID}-01`, ["two", "headers"]]) {
      expect(trace.getSpanContext(remoteParent(bad))).toBeUndefined();
    }
  });

  it("are named by method and route, fail on a 5xx only, and never take an unknown method as a name", () => {
    memory.reset();
    const route = "/api/sources/{source}/enqueue";
    endRequestSpan(startRequestSpan(tracing.tracer, { method: "POST", route, parent: ROOT_CONTEXT }), 202);
    endRequestSpan(startRequestSpan(tracing.tracer, { method: "POST", route, parent: ROOT_CONTEXT }), 401);
    endRequestSpan(
      startRequestSpan(tracing.tracer, {
        method: "GET",
        route: undefined,
        parent: ROOT_CONTEXT,
        kind: SpanKind.INTERNAL,
      }),
      404,
    );
    endRequestSpan(startRequestSpan(tracing.tracer, { method: "BREW", route: undefined, parent: ROOT_CONTEXT }), 503);
    const spans = memory
      .getFinishedSpans()
      .map((span) => ({ name: span.name, kind: span.kind, status: span.status.code, attributes: span.attributes }));
    expect(spans).toEqual([
      {
        name: `POST ${route}`,
        kind: SpanKind.SERVER,
        status: SpanStatusCode.UNSET,
        attributes: { "http.request.method": "POST", "http.route": route, "http.response.status_code": 202 },
      },
      {
        name: `POST ${route}`,
        kind: SpanKind.SERVER,
        status: SpanStatusCode.UNSET,
        attributes: { "http.request.method": "POST", "http.route": route, "http.response.status_code": 401 },
      },
      {
        name: "GET",
        kind: SpanKind.INTERNAL,
        status: SpanStatusCode.UNSET,
        attributes: { "http.request.method": "GET", "http.response.status_code": 404 },
      },
      {
        name: "HTTP",
        kind: SpanKind.SERVER,
        status: SpanStatusCode.ERROR,
        attributes: { "http.request.method": "_OTHER", "http.response.status_code": 503, "error.type": "503" },
      },
    ]);
  });
});
