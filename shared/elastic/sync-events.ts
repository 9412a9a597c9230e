import type { SearchClient as Client } from "./search-client.js";
import { formatReason, type EsErrorCause } from "./classify.js";
import { dependencyFailure, toRequestFailure } from "./failure.js";

/** One synced change: a key whose write the index acknowledged. */
export interface SyncEvent {
  readonly source: string;
  /** The Cosmos document id. */
  readonly id: string;
  /** The partition key value as JSON (ids repeat across partitions). */
  readonly pk: string;
  /** The Elasticsearch `_id` (differs from `id` for `documentId: partitionKeyAndId` sources). */
  readonly docId: string;
  readonly action: "index" | "delete";
  /** The external version written (the document's `_ts`, or the time of the read for a delete). */
  readonly version: number;
  /** Epoch ms. */
  readonly at: number;
}

export interface SyncEventsStreamOptions {
  /** The data stream's name; the index template of the same name matches it alone. */
  readonly stream: string;
  /** Data stream lifecycle retention, e.g. `7d`. */
  readonly retention: string;
}

/** Template priority above Elasticsearch's built-in ones (100–200), should the name match `logs-*-*`. */
const TEMPLATE_PRIORITY = 500;

export const MAPPINGS = {
  dynamic: "false",
  properties: {
    "@timestamp": { type: "date" },
    source: { type: "keyword" },
    id: { type: "keyword" },
    pk: { type: "keyword" },
    doc_id: { type: "keyword" },
    action: { type: "keyword" },
    version: { type: "long" },
  },
} as const;

/**
 * Creates (or updates) the index template that makes `stream` a data stream of sync events with
 * a retention. Returns whether the retention was accepted: clusters before data stream lifecycle
 * (8.11) refuse the `lifecycle` block, and then the template is written without it.
 *
 * Retention is applied by Elasticsearch's data stream lifecycle, which runs wherever the
 * data-streams module does (every regular distribution); the template keeps it either way.
 */
export async function ensureSyncEventsStream(
  client: Client,
  { stream, retention }: SyncEventsStreamOptions,
): Promise<{ retention: boolean }> {
  const template = (lifecycle: boolean) => ({
    name: stream,
    index_patterns: [stream],
    data_stream: {},
    priority: TEMPLATE_PRIORITY,
    _meta: { managed_by: "driftless", description: "one event per change driftless synced" },
    template: { mappings: MAPPINGS, ...(lifecycle ? { lifecycle: { data_retention: retention } } : {}) },
  });
  try {
    await client.indices.putIndexTemplate(template(true) as Parameters<Client["indices"]["putIndexTemplate"]>[0]);
    return { retention: true };
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode !== 400 || !/lifecycle/i.test(failure.description))
      throw dependencyFailure("sync events template", failure);
  }
  try {
    await client.indices.putIndexTemplate(template(false) as Parameters<Client["indices"]["putIndexTemplate"]>[0]);
    return { retention: false };
  } catch (error) {
    throw dependencyFailure("sync events template", toRequestFailure(error));
  }
}

export interface WriteEventsResult {
  readonly written: number;
  readonly failed: number;
  /** The first failure's reason, for the log. */
  readonly firstError?: string;
}

/**
 * One bulk request of `create` actions (data streams only take creates). `require_data_stream`
 * keeps a missing template from letting Elasticsearch auto-create a plain index by that name.
 * Never throws: a failed request counts every event as failed.
 */
export async function writeSyncEvents(
  client: Client,
  stream: string,
  events: readonly SyncEvent[],
): Promise<WriteEventsResult> {
  if (events.length === 0) return { written: 0, failed: 0 };
  const operations: object[] = [];
  for (const event of events) {
    operations.push({ create: {} });
    operations.push({
      "@timestamp": new Date(event.at).toISOString(),
      source: event.source,
      id: event.id,
      pk: event.pk,
      doc_id: event.docId,
      action: event.action,
      version: event.version,
    });
  }
  try {
    const response = await client.bulk({ index: stream, require_data_stream: true, operations });
    if (!response.errors) return { written: events.length, failed: 0 };
    let failed = 0;
    let firstError: string | undefined;
    for (const item of response.items) {
      const result = Object.values(item)[0];
      if (result && result.status >= 300) {
        failed++;
        firstError ??= result.error ? formatReason(result.error as EsErrorCause) : `status ${result.status}`;
      }
    }
    return { written: events.length - failed, failed, ...(firstError ? { firstError } : {}) };
  } catch (error) {
    return { written: 0, failed: events.length, firstError: toRequestFailure(error).description };
  }
}

export interface CountEventsQuery {
  readonly source: string;
  /** Only this Cosmos document id. */
  readonly id?: string;
  readonly now: number;
  /** Window name → length in ms, e.g. `{"5m": 300000}`. */
  readonly windows: Readonly<Record<string, number>>;
}

export interface EventCounts {
  /** Events per window. */
  readonly total: Record<string, number>;
  /** Events per action, per window. */
  readonly byAction: Record<"index" | "delete", Record<string, number>>;
}

interface RangeBucket {
  readonly doc_count: number;
  readonly actions?: { readonly buckets: readonly { readonly key: string; readonly doc_count: number }[] };
}

/**
 * Counts events per window with one search: a date_range aggregation (a bucket per window, the
 * windows overlap) with the split per action under it. A stream that does not exist yet counts 0.
 */
export async function countSyncEvents(client: Client, stream: string, query: CountEventsQuery): Promise<EventCounts> {
  const longest = Math.max(...Object.values(query.windows));
  const filter: object[] = [
    { term: { source: query.source } },
    { range: { "@timestamp": { gte: new Date(query.now - longest).toISOString() } } },
  ];
  if (query.id !== undefined) filter.push({ term: { id: query.id } });
  const aggregations = await aggregateEvents(client, stream, filter, {
    windows: {
      date_range: {
        field: "@timestamp",
        keyed: true,
        ranges: Object.entries(query.windows).map(([key, ms]) => ({
          key,
          from: new Date(query.now - ms).toISOString(),
        })),
      },
      aggs: { actions: { terms: { field: "action", size: 10 } } },
    },
  });
  const buckets = ((aggregations?.windows as { buckets?: Record<string, RangeBucket> } | undefined)?.buckets ??
    {}) as Record<string, RangeBucket>;
  const counts: EventCounts = { total: {}, byAction: { index: {}, delete: {} } };
  for (const key of Object.keys(query.windows)) {
    const bucket = buckets[key];
    counts.total[key] = bucket?.doc_count ?? 0;
    for (const action of ["index", "delete"] as const) {
      counts.byAction[action][key] = bucket?.actions?.buckets.find((b) => b.key === action)?.doc_count ?? 0;
    }
  }
  return counts;
}

export interface TimelineQuery {
  readonly source: string;
  readonly now: number;
  /** How far back, in ms. */
  readonly spanMs: number;
  /** Bucket width, in ms (a whole number of seconds). */
  readonly bucketMs: number;
}

/** Events per time bucket, oldest first; buckets without events are present with 0. */
export interface TimelineBucket {
  /** Bucket start, epoch ms. */
  readonly at: number;
  readonly synced: number;
}

/**
 * Events per fixed-width bucket over the last `spanMs` (a date_histogram with empty buckets kept),
 * for the status page's throughput chart. A stream that does not exist yet gives all zeros.
 */
export async function syncEventsTimeline(
  client: Client,
  stream: string,
  query: TimelineQuery,
): Promise<TimelineBucket[]> {
  const from = Math.floor((query.now - query.spanMs) / query.bucketMs) * query.bucketMs;
  const to = Math.floor(query.now / query.bucketMs) * query.bucketMs;
  const filter = [
    { term: { source: query.source } },
    { range: { "@timestamp": { gte: new Date(from).toISOString() } } },
  ];
  const aggregations = await aggregateEvents(client, stream, filter, {
    timeline: {
      date_histogram: {
        field: "@timestamp",
        fixed_interval: `${Math.round(query.bucketMs / 1000)}s`,
        min_doc_count: 0,
        extended_bounds: { min: from, max: to },
      },
    },
  });
  const found = new Map(
    ((aggregations?.timeline as { buckets?: { key: number; doc_count: number }[] } | undefined)?.buckets ?? []).map(
      (bucket) => [bucket.key, bucket.doc_count],
    ),
  );
  const buckets: TimelineBucket[] = [];
  for (let at = from; at <= to; at += query.bucketMs) buckets.push({ at, synced: found.get(at) ?? 0 });
  return buckets;
}

/** One aggregation-only search of the events stream; a stream that does not exist yet answers with no buckets. */
async function aggregateEvents(client: Client, stream: string, filter: object[], aggs: Record<string, object>) {
  try {
    const response = await client.search({
      index: stream,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      track_total_hits: false,
      query: { bool: { filter } },
      aggs,
    });
    return response.aggregations;
  } catch (error) {
    throw dependencyFailure("sync events search", toRequestFailure(error));
  }
}
