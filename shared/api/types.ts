import type { SourceConfig } from "../config/source.js";
import type { Clock } from "../core/clock.js";
import type { JobsService } from "../jobs/types.js";
import type { SourceQueue } from "../sync/ports.js";

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
  /** Set for a body that is not JSON (the status page): the body is then sent as the string it is. */
  readonly contentType?: string;
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
  /** Circuit breaker state per dependency (`closed`, `open`, `half-open`), where the host has circuits. */
  circuitStates?(): Readonly<Record<string, string>>;
  /** Reimport and reconcile jobs (shared/jobs), where the host runs them. */
  readonly jobs?: JobsService;
  /** The sync history (shared/history), unless SYNC_EVENTS_ENABLED is off. */
  readonly history?: SyncHistoryReader;
}

/** Synced changes per window (`5m` … `3d`), in total and per action, for a source or one document id. */
export interface SyncHistoryReader {
  counts(
    source: string,
    id?: string,
  ): Promise<{ total: Record<string, number>; byAction: Record<"index" | "delete", Record<string, number>> }>;
  /** Changes synced per bucket over the last `minutes`, oldest first. */
  timeline(source: string, minutes: number): Promise<readonly { at: number; synced: number }[]>;
  /** This process's event writes since it started: written, failed, and dropped while the buffer was full. */
  readonly totals?: Readonly<{ written: number; failed: number; dropped: number }>;
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
  /**
   * An anonymous route whose answer holds text a caller without a key must not read (dependency
   * errors, job errors, which can quote documents and hosts): returns the body with `redacted`
   * in place of that text. See invokeRoute.
   */
  readonly redact?: (body: unknown, redacted: string) => unknown;
}
