import type { ApiResponse, Route } from "./types.js";

/**
 * The answer as a caller without a valid key may see it: a route with `redact` gets `text` in
 * place of dependency and job errors; any other answer is returned as it is. The hosts decide who
 * that is (worker mode: no valid key while one is configured; Azure: every caller of an anonymous
 * route, whose key the host does not check). The CLI and callers with a key get the whole answer.
 */
export function withoutDetails(route: Route, response: ApiResponse, text: string): ApiResponse {
  return route.redact ? { ...response, body: route.redact(response.body, text) } : response;
}
