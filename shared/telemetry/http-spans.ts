import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/**
 * One span per HTTP request, shared by worker mode's server and the Functions HTTP handlers.
 * Only the method, the route template and the status are recorded: never the URL's path or
 * query (a document id, the `code` parameter that carries the function key) and never a header.
 */

const propagator = new W3CTraceContextPropagator();

/**
 * The caller's trace from its W3C `traceparent` (and `tracestate`): the request's span becomes
 * its child. A missing or malformed header starts a new trace.
 */
export function remoteParent(traceparent: unknown, tracestate?: unknown): Context {
  if (typeof traceparent !== "string") return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (typeof tracestate === "string") carrier.tracestate = tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

export interface RequestSpanOptions {
  readonly method: string;
  /** The matched route as a template, e.g. `/api/sources/{source}/enqueue`; undefined when none matched. */
  readonly route: string | undefined;
  readonly parent: Context;
  /**
   * SERVER where driftless answers the request itself (worker mode). In Functions the host has
   * recorded the request already and hands its trace context over: INTERNAL there, so Application
   * Insights shows one request per invocation, not two. @defaultValue SpanKind.SERVER
   */
  readonly kind?: SpanKind;
}

/** Named `METHOD /route` (just `METHOD` without a route), as the HTTP semantic conventions name server spans. */
export function startRequestSpan(
  tracer: Tracer,
  { method, route, parent, kind = SpanKind.SERVER }: RequestSpanOptions,
): Span {
  // Any other token a client sends stays out of names and attributes: the set must stay small.
  const known = KNOWN_METHODS.has(method) ? method : "_OTHER";
  const name = known === "_OTHER" ? "HTTP" : route ? `${known} ${route}` : known;
  return tracer.startSpan(
    name,
    { kind, attributes: { "http.request.method": known, ...(route ? { "http.route": route } : {}) } },
    parent,
  );
}

/** A 5xx fails the span; a 4xx is the client's error and leaves it unset (semantic conventions for server spans). */
export function endRequestSpan(span: Span, status: number): void {
  span.setAttribute("http.response.status_code", status);
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute("error.type", String(status));
  }
  span.end();
}
