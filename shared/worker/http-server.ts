import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { errorBody, invokeRoute, matchRoute } from "../api/index.js";
import type { ApiResponse, ApiServices } from "../api/types.js";
import type { Logger } from "../telemetry/logger.js";
import { keyMatches, presentedKey } from "./api-key.js";

export interface ApiServerOptions {
  readonly services: ApiServices;
  readonly logger: Logger;
  /** Required for routes that change state; without it they are open (allowed only on loopback). */
  readonly apiKey?: string;
}

/**
 * Worker mode's HTTP API: the same routes and answers as the Azure Functions, under /api.
 * Bodies are read up to the configured limit and no further, so an oversized request costs
 * nothing beyond that limit.
 */
export function createApiListener({ services, logger, apiKey }: ApiServerOptions): RequestListener {
  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: String(error) }, "unhandled error in the HTTP API");
      send(response, { status: 500, body: errorBody("internal_error", "the request failed") });
    });
  };

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/api/")) {
      return send(response, { status: 404, body: errorBody("not_found", "no such route") });
    }
    const match = matchRoute(request.method ?? "GET", url.pathname.slice("/api/".length));
    if (match === null) return send(response, { status: 404, body: errorBody("not_found", "no such route") });
    if (match === "method_not_allowed") {
      return send(response, { status: 405, body: errorBody("method_not_allowed", `${request.method} is not allowed here`) });
    }
    if (match.route.auth === "key" && apiKey && !keyMatches(apiKey, presentedKey(request.headers, url.searchParams))) {
      request.resume();
      return send(response, { status: 401, body: errorBody("unauthorized", "a valid key is required (x-functions-key header or code parameter)") });
    }
    const body = await readBody(request, services.limits.maxBodyBytes);
    if (body === null) {
      return send(response, { status: 413, body: errorBody("body_too_large", `the body exceeds ${services.limits.maxBodyBytes} bytes`) }, true);
    }
    const result = await invokeRoute(match.route, services, {
      method: request.method ?? "GET",
      params: match.params,
      query: url.searchParams,
      body,
    });
    send(response, result);
  }
}

function readBody(request: IncomingMessage, maxBytes: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"] ?? "0");
    if (declared > maxBytes) {
      request.resume();
      return resolve(null);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(tooLarge ? null : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, { status, body }: ApiResponse, close = false) {
  if (response.headersSent) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
    ...(close ? { connection: "close" } : {}),
  });
  response.end(payload);
}
