import { errorBody, invokeRoute, routeNamed } from "../../shared/api/index.js";
import type { HttpRequest, HttpResponseInit, InvocationContext } from "./azure.js";
import { getServices } from "./services.js";

/**
 * Adapts a route of the shared API to an Azure Functions HTTP handler. Authentication is the
 * host's (function keys, per `authLevel` at registration); this only translates the request.
 */
export function httpHandler(routeName: string) {
  const route = routeNamed(routeName);
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let services;
    try {
      services = await getServices();
    } catch (error) {
      context.error("driftless could not start", error instanceof Error ? error.message : String(error));
      return { status: 503, jsonBody: errorBody("not_ready", "driftless could not start; see the function logs") };
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > services.limits.maxBodyBytes) {
      return { status: 413, jsonBody: errorBody("body_too_large", `the body exceeds ${services.limits.maxBodyBytes} bytes`) };
    }
    const body = await request.text();
    if (Buffer.byteLength(body) > services.limits.maxBodyBytes) {
      return { status: 413, jsonBody: errorBody("body_too_large", `the body exceeds ${services.limits.maxBodyBytes} bytes`) };
    }
    const response = await invokeRoute(route, services, {
      method: request.method,
      params: request.params,
      query: request.query,
      body,
    });
    if (response.status >= 500) context.warn(`${routeName} answered ${response.status}`, JSON.stringify(response.body));
    if (response.contentType) return { status: response.status, body: String(response.body), headers: { "content-type": response.contentType } };
    return { status: response.status, jsonBody: response.body };
  };
}
