import { listDeadLettersHandler, purgeHandler, redriveHandler } from "./deadletters.js";
import { enqueueHandler } from "./enqueue.js";
import { healthHandler, redactHealth } from "./health.js";
import { cancelJobHandler, jobsListHandler, jobStatusHandler, reconcileHandler, redactJob, redactJobs, reimportHandler } from "./jobs.js";
import { liveHandler, readyHandler } from "./probes.js";
import { statusHandler } from "./status.js";
import { documentStatsHandler, sourceHistoryHandler, sourceStatsHandler } from "./sync-stats.js";
import { statusPageHandler } from "./ui.js";
import type { Route } from "./types.js";

/**
 * The public HTTP contract, served under /api by Azure Functions and by worker mode alike. An
 * anonymous route answers with counts, names and states; where its answer also holds error text
 * (a dependency's message, a job's last error), `redact` replaces it for callers without a key.
 */
export const routes: readonly Route[] = [
  { name: "enqueue", method: "POST", route: "sources/{source}/enqueue", auth: "key", handler: enqueueHandler },
  { name: "status", method: "GET", route: "status", auth: "anonymous", handler: statusHandler },
  { name: "health", method: "GET", route: "health", auth: "anonymous", handler: healthHandler, redact: redactHealth },
  // Liveness and readiness apart, for container probes: live never touches a dependency, ready names the missing ones.
  { name: "live", method: "GET", route: "live", auth: "anonymous", handler: liveHandler },
  { name: "ready", method: "GET", route: "ready", auth: "anonymous", handler: readyHandler },
  { name: "status-page", method: "GET", route: "ui", auth: "anonymous", handler: statusPageHandler },
  { name: "deadletters", method: "GET", route: "sources/{source}/deadletters", auth: "key", handler: listDeadLettersHandler },
  { name: "redrive", method: "POST", route: "sources/{source}/deadletters/redrive", auth: "key", handler: redriveHandler },
  { name: "reimport", method: "POST", route: "sources/{source}/reimport", auth: "key", handler: reimportHandler },
  { name: "reconcile", method: "POST", route: "sources/{source}/reconcile", auth: "key", handler: reconcileHandler },
  // One segment, so it never takes a `jobs/{jobId}` path (matchRoute compares segment counts first).
  { name: "jobs-list", method: "GET", route: "jobs", auth: "anonymous", handler: jobsListHandler, redact: redactJobs },
  { name: "job-status", method: "GET", route: "jobs/{jobId}", auth: "anonymous", handler: jobStatusHandler, redact: redactJob },
  { name: "job-cancel", method: "POST", route: "jobs/{jobId}/cancel", auth: "key", handler: cancelJobHandler },
  { name: "purge", method: "POST", route: "sources/{source}/deadletters/purge", auth: "key", handler: purgeHandler },
  { name: "source-stats", method: "GET", route: "sources/{source}/stats", auth: "anonymous", handler: sourceStatsHandler },
  { name: "source-history", method: "GET", route: "sources/{source}/history", auth: "anonymous", handler: sourceHistoryHandler },
  { name: "document-stats", method: "GET", route: "sources/{source}/documents/{id}/stats", auth: "key", handler: documentStatsHandler },
];

export function routeNamed(name: string): Route {
  const route = routes.find((candidate) => candidate.name === name);
  if (!route) throw new Error(`no route named ${name}`);
  return route;
}

/** Matches a path below /api against the route table; params are URI-decoded. */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } | "method_not_allowed" | null {
  const segments = path.split("/").filter(Boolean);
  let wrongMethod = false;
  for (const route of routes) {
    const pattern = route.route.split("/");
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((part, i) => {
      const segment = segments[i]!;
      if (part.startsWith("{") && part.endsWith("}")) {
        try {
          params[part.slice(1, -1)] = decodeURIComponent(segment);
          return true;
        } catch {
          return false;
        }
      }
      return part === segment;
    });
    if (!matches) continue;
    if (route.method === method) return { route, params };
    wrongMethod = true;
  }
  return wrongMethod ? "method_not_allowed" : null;
}
