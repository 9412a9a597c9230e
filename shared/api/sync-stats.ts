import { NotFoundError, ValidationError } from "../core/errors.js";
import { sourceOf } from "./request.js";
import type { ApiServices, RouteHandler, SyncHistoryReader } from "./types.js";

/** Cosmos ids are at most 255 characters and never contain / \ ? or #, so no such id can have a history. */
const MAX_ID_LENGTH = 255;

/**
 * `GET /api/sources/{source}/stats` → `{"source","windows":{"5m":n,"1h":n,"1d":n,"2d":n,"3d":n},"byAction":{"index":{…},"delete":{…}}}`:
 * changes synced in each window, from the events data stream (one search).
 */
export const sourceStatsHandler: RouteHandler = async (services, request) => {
  const { config } = sourceOf(services, request);
  const counts = await historyOf(services).counts(config.name);
  return { status: 200, body: { source: config.name, windows: counts.total, byAction: counts.byAction } };
};

/** `GET /api/sources/{source}/documents/{id}/stats` → the same windows for one Cosmos document id (every partition). */
export const documentStatsHandler: RouteHandler = async (services, request) => {
  const { config } = sourceOf(services, request);
  const id = request.params.id ?? "";
  if (id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new ValidationError(
      "invalid_id",
      `the document id must be 1 to ${MAX_ID_LENGTH} characters (it is ${id.length})`,
    );
  }
  if (/[/\\?#]/.test(id)) throw new ValidationError("invalid_id", "the document id must not contain / \\ ? or #");
  const counts = await historyOf(services).counts(config.name, id);
  return { status: 200, body: { source: config.name, id, windows: counts.total, byAction: counts.byAction } };
};

/** The longest span the timeline answers for; the events are kept at least 3 days, the chart wants minutes to hours. */
const MAX_TIMELINE_MINUTES = 24 * 60;

/**
 * `GET /api/sources/{source}/history?minutes=30` → `{"source","minutes","bucketMs","buckets":[{"at","synced"}]}`:
 * changes synced per bucket, oldest first, for the status page's chart.
 */
export const sourceHistoryHandler: RouteHandler = async (services, request) => {
  const { config } = sourceOf(services, request);
  const raw = request.query.get("minutes") ?? "30";
  const minutes = Number(raw);
  if (!/^\d+$/.test(raw) || minutes < 1 || minutes > MAX_TIMELINE_MINUTES) {
    throw new ValidationError("invalid_query", `minutes must be a whole number from 1 to ${MAX_TIMELINE_MINUTES}`);
  }
  const buckets = await historyOf(services).timeline(config.name, minutes);
  const bucketMs = buckets.length > 1 ? buckets[1]!.at - buckets[0]!.at : 60_000;
  return { status: 200, body: { source: config.name, minutes, bucketMs, buckets } };
};

function historyOf(services: ApiServices): SyncHistoryReader {
  if (!services.history)
    throw new NotFoundError("history_disabled", "the sync history is off (SYNC_EVENTS_ENABLED=false)");
  return services.history;
}
