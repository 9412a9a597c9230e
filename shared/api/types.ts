import type { SourceConfig } from "../config/source.js";
import type { Clock } from "../core/clock.js";
import type { SourceQueue } from "../queue/types.js";

/** A request as both hosts (Azure Functions, worker mode) can present it. */
export interface ApiRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The raw body, already capped at the host's size limit. */
  readonly body: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface HealthCheck {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
}

/** What the route logic needs, and nothing more: no SDK clients, no host objects. */
export interface ApiServices {
  readonly sources: ReadonlyMap<string, { readonly config: SourceConfig; readonly queue: SourceQueue }>;
  readonly clock: Clock;
  readonly limits: { readonly maxItems: number; readonly maxBodyBytes: number };
  health(): Promise<Record<string, HealthCheck>>;
}

export type RouteHandler = (services: ApiServices, request: ApiRequest) => Promise<ApiResponse>;

export interface Route {
  readonly name: string;
  readonly method: "GET" | "POST";
  /** Relative to /api, with `{param}` segments, as Azure Functions routes are written. */
  readonly route: string;
  /** Routes that change state need a key (a function key in Azure, DRIFTLESS_API_KEY in worker mode). */
  readonly auth: "anonymous" | "key";
  readonly handler: RouteHandler;
}
