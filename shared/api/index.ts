export { routes, routeNamed, matchRoute } from "./routes.js";
export { toErrorResponse, errorBody } from "./errors.js";
export { invokeRoute } from "./invoke.js";
export { withoutDetails } from "./redact.js";
export { isStateChanging, unsupportedMediaType } from "./content-type.js";
export { parseEnqueueBody } from "./enqueue.js";
export type { ApiRequest, ApiResponse, ApiServices, HealthCheck, Route } from "./types.js";
