import { routeNamed, type ApiRequest } from "../../shared/api/index.js";
import { DriftlessError } from "../../shared/core/errors.js";
import type { Services } from "../../shared/runtime/services.js";

/**
 * Runs a route of the HTTP API in this process and returns its answer's body, so the CLI
 * validates and answers as the API does. What the route throws reaches the CLI as it is (not as
 * the API's 503 body), with its own message and cause, for the error line and the exit code.
 */
export async function callRoute(
  services: Services,
  name: string,
  request: Partial<Omit<ApiRequest, "method">> = {},
): Promise<unknown> {
  const route = routeNamed(name);
  const response = await route.handler(services, {
    method: route.method,
    params: {},
    query: new URLSearchParams(),
    body: "",
    ...request,
  });
  if (response.status >= 400) throw routeError(name, response.status, response.body);
  return response.body;
}

/**
 * A route's error answer (`{"error":{"code","message"}}`) as the error the CLI throws, the same
 * whether the route ran here or at a deployment: its code and message, retryable on a 503.
 */
export function routeError(name: string, status: number, body: unknown): DriftlessError {
  const { code, message } = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error ?? {};
  return new DriftlessError(
    typeof code === "string" ? code : "failed",
    typeof message === "string" ? message : `${name} answered ${status}`,
    { retryable: status === 503 },
  );
}
