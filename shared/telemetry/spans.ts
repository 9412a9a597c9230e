import {
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { describeError } from "../core/errors.js";

/**
 * Span helpers over the OpenTelemetry API alone (no SDK), so the core (the sync engine, the job
 * runner) can open spans without knowing whether, or where, they are exported. Contexts are
 * passed by hand, parent to child: driftless registers no global context manager, so the
 * "active span" of the API is never relied on.
 */

/**
 * A tracer that records nothing, whatever is registered globally: a ProxyTracerProvider that is
 * never given a delegate hands out the API's no-op tracer. Its spans only carry the parent's
 * ids along, so a traced caller's context still reaches the children.
 */
export const noopTracer: Tracer = new ProxyTracerProvider().getTracer("driftless");

/** Marks a span failed. The description is the error's name and message, which never carry a secret or a document (see core/errors.ts). */
export function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error).slice(0, 500) });
  span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
}

export interface ChildSpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
}

/**
 * Runs `work` in a child span of `parent`: the span ends when the work settles, marked failed if
 * it throws (the error is rethrown untouched). `work` gets the span, to add what it learns.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  parent: Context,
  options: ChildSpanOptions,
  work: (span: Span, context: Context) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
    parent,
  );
  try {
    return await work(span, trace.setSpan(parent, span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The attributes of a client span to a dependency: `db.system.name` as the semantic conventions name them. */
export const DEPENDENCY_SYSTEMS = { redis: "redis", cosmos: "azure.cosmosdb", elasticsearch: "elasticsearch" } as const;
