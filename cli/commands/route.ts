import { routeNamed, type ApiRequest } from "../../shared/api/index.js";
import { DriftlessError } from "../../shared/core/errors.js";
import type { Services } from "../../shared/runtime/services.js";

/**
 * Runs a route of the HTTP API in this process and returns its answer's body, so the CLI
 * validates and answers as the API does. What the route throws reaches the CLI as it is (not as
 * the API's 503 body), with its own message and cause, for the error line and the exit code.
 */
export async function callRoute(services: Services, name: string, request: Partial<Omit<ApiRequest, "method">> = {}): Promise<unknown> {
  const route = routeNamed(name);
  const response = await route.handler(services, { method: route.method, params: {}, query: new URLSearchParams(), body: "", ...request });
  if (response.status >= 400) {
    const { code, message } = (response.body as { error?: { code?: string; message?: string } }).error ?? {};
    throw new DriftlessError(code ?? "failed", message ?? `${name} answered ${response.status}`, { retryable: response.status === 503 });
  }
  return response.body;
}
