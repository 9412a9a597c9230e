import { toErrorResponse } from "./errors.js";
import type { ApiRequest, ApiResponse, ApiServices, Route } from "./types.js";

/** Runs a route's logic; every failure becomes a JSON error response, never a thrown error. */
export async function invokeRoute(route: Route, services: ApiServices, request: ApiRequest): Promise<ApiResponse> {
  try {
    return await route.handler(services, request);
  } catch (error) {
    return toErrorResponse(error);
  }
}
