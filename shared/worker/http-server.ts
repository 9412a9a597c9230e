import type { IncomingMessage, ServerResponse } from "node:http";
import type { Tracer } from "@opentelemetry/api";
import {
  errorBody,
  invokeRoute,
  isStateChanging,
  matchRoute,
  unsupportedMediaType,
  withoutDetails,
} from "../api/index.js";
import type { ApiResponse, ApiServices, Route } from "../api/types.js";
import { endRequestSpan, remoteParent, startRequestSpan } from "../telemetry/http-spans.js";
import type { Logger } from "../telemetry/logger.js";
import { PROMETHEUS_CONTENT_TYPE } from "../telemetry/metrics.js";
import { noopTracer } from "../telemetry/spans.js";
import { keyMatches, presentedKey } from "./api-key.js";
import type { Handler } from "./listen.js";
import { hostAllowed, originAllowed } from "./request-origin.js";

export interface ApiServerOptions {
  readonly services: ApiServices;
  readonly logger: Logger;
  /** Required for routes that change state; without it they are open (allowed only on loopback). */
  readonly apiKey?: string;
  /**
   * Host names besides the loopback ones that `Host` and a state-changing request's `Origin` may
   * name (DRIFTLESS_ALLOWED_HOSTS). Checked when there is no key, and whenever some are given.
   * @defaultValue none
   */
  readonly allowedHosts?: readonly string[];
  /** Renders the metrics for `GET /metrics` (Prometheus text format); without it that path is 404. */
  readonly metricsText?: () => Promise<string>;
  /** Opens a server span per request under /api. @defaultValue the no-op tracer */
  readonly tracer?: Tracer;
}

type Match = ReturnType<typeof matchRoute>;

/** What a request is answered with; `close` ends the connection after it (an oversized body). */
interface Answer {
  readonly result: ApiResponse;
  readonly close?: boolean;
}

/**
 * Worker mode's HTTP API: the same routes and answers as the Azure Functions, under /api.
 * Bodies are read up to the configured limit and no further, so an oversized request costs
 * nothing beyond that limit.
 *
 * Every request but `/metrics` is a server span named by its route, continuing the caller's
 * W3C `traceparent`. A scrape every few seconds would only add noise, so `/metrics` has none.
 */
export function createApiListener({
  services,
  logger,
  apiKey,
  allowedHosts = [],
  metricsText,
  tracer = noopTracer,
}: ApiServerOptions): Handler {
  // Without a key, reaching the port is the only credential, and a browser on this machine reaches
  // it for any web page (request-origin.ts): only loopback names and the allowed hosts may be used.
  // With a key a browser cannot send it cross-site, so listing hosts is the operator's choice.
  const checkHosts = !apiKey || allowedHosts.length > 0;
  const traced = tracer !== noopTracer;
  // Settles when the handler is done with the services, which the graceful close waits for.
  return (request, response) =>
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: String(error) }, "unhandled error in the HTTP API");
      send(response, { status: 500, body: errorBody("internal_error", "the request failed") });
    });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    // Before anything else, /metrics included, and without a span: a page rebinding its name to
    // this port learns nothing, and its polling leaves no traces.
    if (checkHosts && !hostAllowed(request.headers.host, allowedHosts)) {
      request.resume();
      return send(response, {
        status: 403,
        body: errorBody(
          "host_not_allowed",
          "the Host header names neither a loopback address nor one of DRIFTLESS_ALLOWED_HOSTS",
        ),
      });
    }
    const url = parseTarget(request.url ?? "/");
    // Beside /api, where Prometheus looks by default; read-only counts, so no key, like /api/status.
    if (url.pathname === "/metrics" && metricsText) {
      request.resume();
      if (request.method !== "GET")
        return send(response, {
          status: 405,
          body: errorBody("method_not_allowed", `${request.method} is not allowed here`),
        });
      return send(response, { status: 200, body: await metricsText(), contentType: PROMETHEUS_CONTENT_TYPE });
    }
    const method = request.method ?? "GET";
    const match: Match = url.pathname.startsWith("/api/")
      ? matchRoute(method, url.pathname.slice("/api/".length))
      : null;
    // With tracing off the span would record nothing and reach nobody (the routes are not handed
    // it), so none is opened: its name, attributes and parent context were work on every request.
    const span = traced
      ? startRequestSpan(tracer, {
          method,
          route: match && match !== "method_not_allowed" ? `/api/${match.route.route}` : undefined,
          parent: remoteParent(request.headers.traceparent, request.headers.tracestate),
        })
      : undefined;
    // A request that throws is answered 500 by the listener; its span says so too.
    let status = 500;
    try {
      const { result, close } = await answer(request, url.searchParams, match);
      status = result.status;
      send(response, result, close);
    } finally {
      if (span) endRequestSpan(span, status);
    }
  }

  /**
   * An anonymous route's error text goes only to a caller with the key. Without a configured key
   * the worker listens on loopback only (startWorker) and answers only loopback names and the
   * hosts the operator listed: its callers are the operator's own, who can read every keyed route
   * (dead letters and their errors) as well, so hiding the rest would protect nothing.
   */
  function showsDetails(route: Route, request: IncomingMessage, query: URLSearchParams): boolean {
    return (
      !apiKey || route.auth !== "anonymous" || !route.redact || keyMatches(apiKey, presentedKey(request.headers, query))
    );
  }

  async function answer(request: IncomingMessage, query: URLSearchParams, match: Match): Promise<Answer> {
    if (match === null) return { result: { status: 404, body: errorBody("not_found", "no such route") } };
    if (match === "method_not_allowed") {
      return {
        result: { status: 405, body: errorBody("method_not_allowed", `${request.method} is not allowed here`) },
      };
    }
    const method = request.method ?? "GET";
    const origin = request.headers.origin;
    if (checkHosts && isStateChanging(method) && origin !== undefined && !originAllowed(origin, allowedHosts)) {
      request.resume();
      return {
        result: {
          status: 403,
          body: errorBody("origin_not_allowed", "a state-changing request from a page of another site is refused"),
        },
      };
    }
    if (match.route.auth === "key" && apiKey && !keyMatches(apiKey, presentedKey(request.headers, query))) {
      request.resume();
      return {
        result: {
          status: 401,
          body: errorBody("unauthorized", "a valid key is required (x-functions-key header or code parameter)"),
        },
      };
    }
    const mediaRefusal = unsupportedMediaType(method, request.headers["content-type"], hasBody(request));
    if (mediaRefusal) {
      request.resume();
      return { result: mediaRefusal };
    }
    const body = await readBody(request, services.limits.maxBodyBytes);
    if (body === null) {
      return {
        result: {
          status: 413,
          body: errorBody("body_too_large", `the body exceeds ${services.limits.maxBodyBytes} bytes`),
        },
        close: true,
      };
    }
    const result = await invokeRoute(match.route, services, { method, params: match.params, query, body });
    return {
      result: showsDetails(match.route, request, query)
        ? result
        : withoutDetails(match.route, result, "redacted: send the API key to see it"),
    };
  }
}

/**
 * The path and query of a request target. The usual origin-form target (`/api/…?…`) is split by
 * hand, which costs a fraction of a WHATWG URL parse on a path that runs 10,000 times a second;
 * a target the URL parser would rewrite (dot segments, backslashes, `//`, a fragment) takes it, so
 * routing sees the same path either way.
 */
export function parseTarget(target: string): { pathname: string; searchParams: URLSearchParams } {
  const queryAt = target.indexOf("?");
  const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
  if (
    pathname.startsWith("/") &&
    !pathname.startsWith("//") &&
    !pathname.includes("/.") &&
    !pathname.includes("\\") &&
    !target.includes("#")
  ) {
    return { pathname, searchParams: new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1)) };
  }
  const url = new URL(target, "http://localhost");
  return { pathname: url.pathname, searchParams: url.searchParams };
}

/** Whether the request announces a body: a non-zero content-length, or a chunked one. */
function hasBody(request: IncomingMessage): boolean {
  return Number(request.headers["content-length"] ?? "0") > 0 || request.headers["transfer-encoding"] !== undefined;
}

/**
 * Past the limit the rest of the body is read and dropped, so the 413 reaches a client that is
 * still writing (answering early and closing makes its write fail with EPIPE instead of showing
 * the 413). Dropping costs no memory; a body beyond DISCARD_BYTES is cut off by closing.
 */
const DISCARD_BYTES = 32 * 1024 * 1024;

function readBody(request: IncomingMessage, maxBytes: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"] ?? "0");
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > maxBytes;
    if (tooLarge && declared > DISCARD_BYTES) {
      request.resume();
      return resolve(null);
    }
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) {
        if (size > DISCARD_BYTES) resolve(null);
        return;
      }
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => {
      if (tooLarge) return resolve(null);
      // Most bodies arrive in one chunk: no copy then.
      resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"));
    });
    request.on("error", reject);
  });
}

function send(response: ServerResponse, { status, body, contentType }: ApiResponse, close = false) {
  if (response.headersSent) return;
  const payload = contentType ? String(body) : JSON.stringify(body);
  // A flat list of names and values: node:http takes it as it is, where an object is walked first.
  const headers = [
    "content-type",
    contentType ?? "application/json; charset=utf-8",
    "content-length",
    String(Buffer.byteLength(payload)),
  ];
  if (close) headers.push("connection", "close");
  response.writeHead(status, headers);
  response.end(payload);
}
