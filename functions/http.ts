import { routes } from "../shared/api/index.js";
import type { Route } from "../shared/api/types.js";
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

export type HttpFunction = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * The host's function keys guard the routes that need a key; worker mode checks DRIFTLESS_API_KEY
 * for the same routes, so the route table says which, once, for both hosts.
 */
export function authLevelOf(route: Route): "function" | "anonymous" {
  return route.auth === "key" ? "function" : "anonymous";
}

/** One HTTP function per route of the shared API, named as its route (`GET /api/status` is `status`). */
export const httpFunctions: ReadonlyMap<string, HttpFunction> = new Map(
  routes.map((route) => [route.name, httpHandler(route.name)]),
);

/** The HTTP function of a route, as the host calls it (tests call them this way too). */
export function httpFunction(name: string): HttpFunction {
  const handler = httpFunctions.get(name);
  if (!handler) throw new Error(`no HTTP function named ${name}`);
  return handler;
}

for (const route of routes) {
  app.http(route.name, {
    methods: [route.method],
    authLevel: authLevelOf(route),
    route: route.route,
    handler: httpFunction(route.name),
  });
}
