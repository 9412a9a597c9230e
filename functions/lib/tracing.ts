import { ROOT_CONTEXT, SpanKind, type Context, type Span } from "@opentelemetry/api";
import { remoteParent } from "../../shared/telemetry/http-spans.js";
import { inSpan } from "../../shared/telemetry/spans.js";
import type { Tracing } from "../../shared/telemetry/tracing.js";
import type { HttpRequest, InvocationContext } from "./azure.js";

/**
 * The trace an invocation belongs to: the host's (`context.traceContext`, which the host records
 * as the request itself), else an HTTP caller's `traceparent`, else a new one.
 */
export function invocationParent(context: InvocationContext, request?: HttpRequest): Context {
  const host = context.traceContext;
  if (host?.traceParent) return remoteParent(host.traceParent, host.traceState);
  return request ? remoteParent(request.headers.get("traceparent"), request.headers.get("tracestate")) : ROOT_CONTEXT;
}

/**
 * Where the host has recorded the invocation as a request already, driftless's span is its
 * child, INTERNAL, so Application Insights shows one request per invocation and not two; without
 * the host's trace it is the server span itself.
 */
export function invocationSpanKind(context: InvocationContext): SpanKind {
  return context.traceContext?.traceParent ? SpanKind.INTERNAL : SpanKind.SERVER;
}

/** `faas.trigger` of the semantic conventions: timers, Service Bus tickets, the Cosmos DB change feed. */
export type Trigger = "timer" | "pubsub" | "datasource";

/**
 * A non-HTTP invocation as one span named for the function; `work` gets its context to hand on
 * (a sync pass's batches and a job's pages become its children), and the span for what it learns. With `flush`, queued spans are
 * sent before the invocation returns, as the sync history's events are: the platform may freeze
 * an idle instance. Timers and tickets only: they run every few seconds at most.
 */
export async function inInvocationSpan<T>(
  tracing: Tracing,
  context: InvocationContext,
  trigger: Trigger,
  work: (parent: Context, span: Span) => Promise<T>,
  options: { readonly flush?: boolean } = {},
): Promise<T> {
  const attributes = { "faas.trigger": trigger, "faas.invocation_id": context.invocationId };
  try {
    return await inSpan(
      tracing.tracer,
      context.functionName,
      invocationParent(context),
      { kind: invocationSpanKind(context), attributes },
      (span, parent) => work(parent, span),
    );
  } finally {
    // A failed export never fails the invocation.
    if (options.flush) await tracing.forceFlush().catch(() => undefined);
  }
}
