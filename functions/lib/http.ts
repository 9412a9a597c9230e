import { errorBody, invokeRoute, routeNamed, unsupportedMediaType, withoutDetails } from "../../shared/api/index.js";
import type { ApiServices } from "../../shared/api/types.js";
import { endRequestSpan, startRequestSpan } from "../../shared/telemetry/http-spans.js";
import type { HttpRequest, HttpResponseInit, InvocationContext } from "./azure.js";
import { invocationHandler } from "./invocation.js";
import { getServices } from "./services.js";
import { invocationParent, invocationSpanKind } from "./tracing.js";

/**
 * Adapts a route of the shared API to an Azure Functions HTTP handler. Authentication is the
 * host's (function keys, per `authLevel` at registration); this only translates the request.
 * Each invocation is a span named by its route (`POST /api/sources/{source}/enqueue`) in the
 * host's trace for it.
 */
export function httpHandler(routeName: string) {
  const route = routeNamed(routeName);
  const template = `/api/${route.route}`;
  return invocationHandler(async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let services: Awaited<ReturnType<typeof getServices>>;
    try {
      services = await getServices();
    } catch (error) {
      context.error("driftless could not start", error instanceof Error ? error.message : String(error));
      return { status: 503, jsonBody: errorBody("not_ready", "driftless could not start; see the function logs") };
    }
    const span = startRequestSpan(services.tracing.tracer, {
      method: request.method,
      route: template,
      parent: invocationParent(context, request),
      kind: invocationSpanKind(context),
    });
    let status = 500;
    try {
      const response = await answer(request, context, services);
      status = response.status ?? 200;
      return response;
    } finally {
      endRequestSpan(span, status);
    }
  });

  async function answer(
    request: HttpRequest,
    context: InvocationContext,
    services: ApiServices,
  ): Promise<HttpResponseInit> {
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > services.limits.maxBodyBytes) {
      return {
        status: 413,
        jsonBody: errorBody("body_too_large", `the body exceeds ${services.limits.maxBodyBytes} bytes`),
      };
    }
    const body = await request.text();
    if (Buffer.byteLength(body) > services.limits.maxBodyBytes) {
      return {
        status: 413,
        jsonBody: errorBody("body_too_large", `the body exceeds ${services.limits.maxBodyBytes} bytes`),
      };
    }
    // Function keys already keep other sites out of the keyed routes; this is the same rule as
    // worker mode's, so a body means the same thing on both hosts.
    const mediaRefusal = unsupportedMediaType(request.method, request.headers.get("content-type"), body !== "");
    if (mediaRefusal) return { status: mediaRefusal.status, jsonBody: mediaRefusal.body };
    const whole = await invokeRoute(route, services, {
      method: request.method,
      params: request.params,
      query: request.query,
      body,
    });
    if (whole.status >= 500) context.warn(`${routeName} answered ${whole.status}`, JSON.stringify(whole.body));
    // The host checks function keys only on the routes that require one, so a caller of an
    // anonymous route is never known to hold a key: error text stays in the logs and the CLI.
    const response =
      route.auth === "anonymous"
        ? withoutDetails(route, whole, "redacted: see the function logs or the driftless CLI")
        : whole;
    if (response.contentType)
      return {
        status: response.status,
        body: String(response.body),
        headers: { "content-type": response.contentType },
      };
    return { status: response.status, jsonBody: response.body };
  }
}
