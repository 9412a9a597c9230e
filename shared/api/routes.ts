import { listDeadLettersHandler, purgeHandler, redriveHandler } from "./deadletters.js";
import { enqueueHandler } from "./enqueue.js";
import { healthHandler, redactHealth } from "./health.js";
import {
  cancelJobHandler,
  jobsListHandler,
  jobStatusHandler,
  reconcileHandler,
  redactJob,
  redactJobs,
  reimportHandler,
} from "./jobs.js";
import { liveHandler, readyHandler } from "./probes.js";
import { statusHandler } from "./status.js";
import { documentStatsHandler, sourceHistoryHandler, sourceStatsHandler } from "./sync-stats.js";
import { statusPageHandler } from "./ui.js";
import type { Route } from "./types.js";

/**
 * The public HTTP contract, served under /api by Azure Functions and by worker mode alike. A
 * route's name is also its Azure Function's name (functions/http.ts registers one per route). An
 * anonymous route answers with counts, names and states; where its answer also holds error text
 * (a dependency's message, a job's last error), `redact` replaces it for callers without a key.
 */
export const routes: readonly Route[] = [
  // HTTP producer: `POST /api/sources/{source}/enqueue` with `{"items":[{"id","pk"}]}` or `{"ids":[…]}`.
  { name: "enqueue", method: "POST", route: "sources/{source}/enqueue", auth: "key", handler: enqueueHandler },
  // `GET /api/status`: queue depth, in-flight, dead letters, lag and last sync per source.
  { name: "status", method: "GET", route: "status", auth: "anonymous", handler: statusHandler },
  // `GET /api/health`: 200 when Redis, Elasticsearch and Cosmos DB answer, 503 otherwise.
  { name: "health", method: "GET", route: "health", auth: "anonymous", handler: healthHandler, redact: redactHealth },
  // Liveness and readiness apart, for container probes: live never touches a dependency, ready names the missing ones.
  // `GET /api/live`: 200 while the app answers; touches no dependency.
  { name: "live", method: "GET", route: "live", auth: "anonymous", handler: liveHandler },
  // `GET /api/ready`: 200 when Redis, Elasticsearch and Cosmos DB answer, 503 naming the ones that do not.
  { name: "ready", method: "GET", route: "ready", auth: "anonymous", handler: readyHandler },
  // `GET /api/ui`: the built-in status page (queue depth, lag, throughput, dead letters, jobs).
  { name: "status-page", method: "GET", route: "ui", auth: "anonymous", handler: statusPageHandler },
  // `GET /api/sources/{source}/deadletters`: dead letters with reason, attempts and last error.
  {
    name: "deadletters-list",
    method: "GET",
    route: "sources/{source}/deadletters",
    auth: "key",
    handler: listDeadLettersHandler,
  },
  // `POST /api/sources/{source}/deadletters/redrive`: dead letters back to the queue, all or by key.
  {
    name: "deadletters-redrive",
    method: "POST",
    route: "sources/{source}/deadletters/redrive",
    auth: "key",
    handler: redriveHandler,
  },
  // `POST /api/sources/{source}/reimport` with `{}` or `{"mode":"in-place"|"rebuild"}` → 202 `{"jobId":"…"}`; the jobs timer runs it.
  { name: "reimport", method: "POST", route: "sources/{source}/reimport", auth: "key", handler: reimportHandler },
  // `POST /api/sources/{source}/reconcile` → 202 `{"jobId":"…"}`: remove what Cosmos DB no longer has; the jobs timer runs it.
  { name: "reconcile", method: "POST", route: "sources/{source}/reconcile", auth: "key", handler: reconcileHandler },
  // `GET /api/jobs?source=<name>&limit=<n>`: recent reimport and reconcile jobs, newest first (the status page's jobs block).
  // One segment, so it never takes a `jobs/{jobId}` path (matchRoute compares segment counts first).
  { name: "jobs-list", method: "GET", route: "jobs", auth: "anonymous", handler: jobsListHandler, redact: redactJobs },
  // `GET /api/jobs/{jobId}`: state, scanned, indexed, enqueued, errors, startedAt, finishedAt (and a rebuild's new index).
  {
    name: "job-status",
    method: "GET",
    route: "jobs/{jobId}",
    auth: "anonymous",
    handler: jobStatusHandler,
    redact: redactJob,
  },
  // `POST /api/jobs/{jobId}/cancel` → 202 with the job; a running job stops at its next page (a rebuild deletes its new index).
  { name: "job-cancel", method: "POST", route: "jobs/{jobId}/cancel", auth: "key", handler: cancelJobHandler },
  // `POST /api/sources/{source}/deadletters/purge`: delete dead letters for good, by key or `{"all":true}`.
  {
    name: "deadletters-purge",
    method: "POST",
    route: "sources/{source}/deadletters/purge",
    auth: "key",
    handler: purgeHandler,
  },
  // `GET /api/sources/{source}/stats`: changes synced in the last 5m, 1h, 1d, 2d and 3d (the sync history).
  {
    name: "source-stats",
    method: "GET",
    route: "sources/{source}/stats",
    auth: "anonymous",
    handler: sourceStatsHandler,
  },
  // `GET /api/sources/{source}/history?minutes=30`: changes synced per time bucket (the status page's chart).
  {
    name: "source-history",
    method: "GET",
    route: "sources/{source}/history",
    auth: "anonymous",
    handler: sourceHistoryHandler,
  },
  // `GET /api/sources/{source}/documents/{id}/stats`: the same windows for one document id.
  {
    name: "document-stats",
    method: "GET",
    route: "sources/{source}/documents/{id}/stats",
    auth: "key",
    handler: documentStatsHandler,
  },
];

export function routeNamed(name: string): Route {
  const route = routes.find((candidate) => candidate.name === name);
  if (!route) throw new Error(`no route named ${name}`);
  return route;
}

/** A route template split once: literal segments, and `{name}` ones as the name of their param. */
const compiled = routes.map((route) => ({
  route,
  parts: route.route.split("/").map((part) => ({
    literal: part,
    param: part.startsWith("{") && part.endsWith("}") ? part.slice(1, -1) : undefined,
  })),
}));

/**
 * Matches a path below /api against the route table; params are URI-decoded. The templates are
 * split once, not on each request: this runs for every request the producer answers.
 */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | "method_not_allowed" | null {
  const segments = path.split("/").filter(Boolean);
  let wrongMethod = false;
  for (const { route, parts } of compiled) {
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      const segment = segments[i]!;
      if (part.param !== undefined) {
        try {
          params[part.param] = decodeURIComponent(segment);
          return true;
        } catch {
          return false;
        }
      }
      return part.literal === segment;
    });
    if (!matches) continue;
    if (route.method === method) return { route, params };
    wrongMethod = true;
  }
  return wrongMethod ? "method_not_allowed" : null;
}
