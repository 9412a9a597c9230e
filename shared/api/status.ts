import { DependencyError } from "../core/errors.js";
import type { RouteHandler } from "./types.js";

/** `GET /api/status` → per source: pending, inflight, deadLettered, oldestPendingAgeMs, lastSyncAt; the circuit per dependency; the sync history's event writes. */
export const statusHandler: RouteHandler = async (services) => {
  const now = services.clock.now();
  const entries = await Promise.all(
    [...services.sources].map(async ([name, { config, queue }]) => {
      const stats = await queue.stats(now).catch((error: unknown) => {
        throw new DependencyError("redis", "could not read queue statistics", { cause: error });
      });
      return {
        name,
        index: config.index,
        pending: stats.pending,
        pendingLive: stats.pendingLive,
        pendingBulk: stats.pendingBulk,
        due: stats.due,
        inflight: stats.inflight,
        deadLettered: stats.deadLettered,
        oldestPendingAgeMs: stats.oldestPendingAgeMs,
        lastSyncAt: stats.lastSyncAt === null ? null : new Date(stats.lastSyncAt).toISOString(),
      };
    }),
  );
  // This process's view of each dependency: "open" means the sync is releasing keys and waiting.
  const circuits = services.circuitStates?.();
  // The sync history is best effort: what it could not write (failed, or dropped while its buffer was full) shows here.
  const syncEvents = services.history?.totals;
  return {
    status: 200,
    body: {
      sources: entries,
      ...(circuits ? { circuits } : {}),
      ...(syncEvents ? { syncEvents: { ...syncEvents } } : {}),
      generatedAt: new Date(now).toISOString(),
    },
  };
};
