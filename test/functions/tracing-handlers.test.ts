import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import type { HttpFunction } from "../../functions/http.js";
import { onTimeTimer } from "../setup/invocation.js";

const { HttpRequest, InvocationContext } = functions;

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}
const OTLP_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 };
const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

/**
 * The Functions handlers' spans, exported over OTLP to a stand-in collector: each invocation
 * continues the trace the host hands over in `context.traceContext`, and a timer's sync batches
 * are children of its invocation span.
 */
describe("Azure Functions handlers' traces", () => {
  let source: TestSource;
  let receiver: Server;
  const spans: OtlpSpan[] = [];
  let handlers: {
    enqueue: HttpFunction;
    syncTimer: typeof import("../../functions/sync-timer.js").syncTimer;
  };

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    source = await createTestSource({ env: { SYNC_TIME_BUDGET_MS: "1500", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    // Handlers read their settings from the environment, as in the Functions host.
    Object.assign(process.env, source.env);
    const { httpFunction } = await import("../../functions/http.js");
    handlers = { enqueue: httpFunction("enqueue"), ...(await import("../../functions/sync-timer.js")) };
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await new Promise((resolve) => receiver?.close(resolve));
    await source?.dispose();
  });

  const hostContext = (name: string, traceId: string, spanId: string) =>
    new InvocationContext({
      functionName: name,
      invocationId: `test-${name}`,
      traceContext: { traceParent: `00-${traceId}-${spanId}-01`, traceState: undefined, attributes: {} },
    });

  it("continue the host's trace: the HTTP invocation by route, the timer's batches under the timer", async () => {
    const enqueueTrace = { traceId: "a1".repeat(16), spanId: "b1".repeat(8) };
    const timerTrace = { traceId: "c2".repeat(16), spanId: "d2".repeat(8) };
    for (let i = 0; i < 5; i++)
      await source.container.items.create({ id: `t${i}`, tenant: "a", title: `doc ${i}`, n: i });
    const request = new HttpRequest({
      method: "POST",
      url: `http://localhost:7071/api/sources/${source.name}/enqueue`,
      params: { source: source.name },
      headers: { "content-type": "application/json" },
      body: { string: JSON.stringify({ items: Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, pk: "a" })) }) },
    });
    const response = await handlers.enqueue(request, hostContext("enqueue", enqueueTrace.traceId, enqueueTrace.spanId));
    expect(response.status).toBe(202);
    const timer = onTimeTimer;
    // The timer flushes the spans before it returns (the platform may freeze the instance after).
    await handlers.syncTimer(timer, hostContext("sync-timer", timerTrace.traceId, timerTrace.spanId));

    const enqueue = spans.find((span) => span.traceId === enqueueTrace.traceId);
    expect(enqueue).toMatchObject({
      name: "POST /api/sources/{source}/enqueue",
      parentSpanId: enqueueTrace.spanId,
      kind: OTLP_KIND.INTERNAL,
    });
    expect(attribute(enqueue!, "http.response.status_code")).toBe(202);
    expect(attribute(enqueue!, "http.route")).toBe("/api/sources/{source}/enqueue");

    const invocation = spans.find((span) => span.traceId === timerTrace.traceId && span.name === "sync-timer");
    expect(invocation).toMatchObject({ parentSpanId: timerTrace.spanId, kind: OTLP_KIND.INTERNAL });
    expect(attribute(invocation!, "faas.trigger")).toBe("timer");
    const batches = spans.filter((span) => span.name === "driftless.sync.batch");
    expect(batches.length).toBeGreaterThanOrEqual(1);
    for (const batch of batches)
      expect(batch).toMatchObject({ traceId: timerTrace.traceId, parentSpanId: invocation!.spanId });
    expect(batches.reduce((n, batch) => n + Number(attribute(batch, "driftless.keys.indexed")), 0)).toBe(5);
  });
});
