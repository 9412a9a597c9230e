import type { RouteHandler } from "./types.js";

/**
 * `GET /api/live`: the process is up and its event loop answers. It touches no dependency on
 * purpose: a container orchestrator restarts a process whose liveness fails, and restarting
 * driftless because Elasticsearch is down would only add a cold start to the outage.
 */
export const liveHandler: RouteHandler = async () => ({ status: 200, body: { status: "live" } });

/**
 * `GET /api/ready`: 200 when Redis, Elasticsearch and Cosmos DB all answer, 503 naming the ones
 * that do not. Only names: the dependencies' own messages (hosts, ports) stay on /api/health,
 * behind the key, so this route needs no redaction and can be probed by anyone who reaches it.
 */
export const readyHandler: RouteHandler = async (services) => {
  const checks = await services.health();
  const unavailable = Object.entries(checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name)
    .sort();
  return unavailable.length === 0
    ? { status: 200, body: { status: "ready" } }
    : { status: 503, body: { status: "not_ready", unavailable } };
};
