import type { SearchClient as Client } from "./search-client.js";
import { formatReason, type EsErrorCause } from "./classify.js";
import { dependencyFailure, toRequestFailure } from "./failure.js";

/**
 * The synced changes of one batch for one action: every id is one change (an id may repeat, once
 * per partition it was synced in). Stored as one counting document and one or a few id documents
 * (writeSyncEvents), not a document per change: a second Elasticsearch document per synced
 * document cost the pipeline up to a quarter of its throughput (issue 25).
 */
export interface SyncEventGroup {
  readonly source: string;
  readonly action: "index" | "delete";
  /** The Cosmos document ids, one per change. */
  readonly ids: readonly string[];
  /** Epoch ms: when the batch settled. */
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
    kind: { type: "keyword" },
  },
} as const;

/*
 * Three shapes of documents live in the stream, and every query below counts them alike:
 * - a count document: `kind: "count"`, `source`, `action`, and `_doc_count` = the batch's changes
 *   for that action. Every bucket aggregation (date_range, date_histogram, terms, and Kibana's
 *   Count) adds `_doc_count` instead of 1, so per-source counts and the timeline need no sums.
 * - id documents: `kind: "ids"`, `source`, `action`, `id` an array of distinct ids. A term query on
 *   `id` matches a document once, so an id documents' count is that id's changes: an id that
 *   repeats within a batch (one per partition) goes to a second id document. Per-source counts
 *   leave them out (must_not `kind: ids`); they have no `_doc_count`, so they count 1 per id.
 * - an event per change, as written before (no `kind`, `id` a single id): counted by both, which
 *   keeps the answers right over the retention after an upgrade.
 */
const IDS_KIND = "ids";
/** What per-source counts leave out: the id documents (their changes are in the count documents). */
const NOT_ID_DOCUMENTS = [{ term: { kind: IDS_KIND } }];

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
    _meta: { managed_by: "driftless", description: "the changes driftless synced, counted per batch and per id" },
    template: { mappings: MAPPINGS, ...(lifecycle ? { lifecycle: { data_retention: retention } } : {}) },
  });
  try {
    await client.indices.putIndexTemplate(template(true) as Parameters<Client["indices"]["putIndexTemplate"]>[0]);
    await addNewFields(client, stream);
    return { retention: true };
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode !== 400 || !/lifecycle/i.test(failure.description))
      throw dependencyFailure("sync events template", failure);
  }
  try {
    await client.indices.putIndexTemplate(template(false) as Parameters<Client["indices"]["putIndexTemplate"]>[0]);
    await addNewFields(client, stream);
    return { retention: false };
  } catch (error) {
    throw dependencyFailure("sync events template", toRequestFailure(error));
  }
}

/**
 * A stream created before `kind` existed keeps its backing indices' mapping (`dynamic: false`)
 * until it rolls over, and there `kind` would be stored but not searchable: per-source counts
 * would count id documents too. Adding the field to every backing index is allowed (a new field);
 * a stream that does not exist yet gets it from the template.
 */
async function addNewFields(client: Client, stream: string): Promise<void> {
  try {
    await client.transport.request({
      method: "PUT",
      path: `/${encodeURIComponent(stream)}/_mapping`,
      body: { properties: { kind: MAPPINGS.properties.kind } },
    });
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return;
    throw dependencyFailure("sync events mapping", failure);
  }
}

export interface WriteEventsResult {
  /** The positions (in the groups written) of the groups not (fully) written; their changes count as failed. */
  readonly failedGroups: readonly number[];
  /** The first failure's reason, for the log. */
  readonly firstError?: string;
}

/** Splits ids into lists without repeats: an id synced in two partitions of one batch goes to two lists. */
function distinctLists(ids: readonly string[]): string[][] {
  const lists: { ids: string[]; seen: Set<string> }[] = [];
  for (const id of ids) {
    let list = lists.find((candidate) => !candidate.seen.has(id));
    if (!list) {
      list = { ids: [], seen: new Set() };
      lists.push(list);
    }
    list.ids.push(id);
    list.seen.add(id);
  }
  return lists.map((list) => list.ids);
}

/**
 * One bulk request of `create` actions (data streams only take creates) for any number of groups:
 * per group, one count document and its id documents. `require_data_stream` keeps a missing
 * template from letting Elasticsearch auto-create a plain index by that name. Never throws: a
 * failed request counts every group as failed.
 */
export async function writeSyncEvents(
  client: Client,
  stream: string,
  groups: readonly SyncEventGroup[],
): Promise<WriteEventsResult> {
  if (groups.length === 0) return { failedGroups: [] };
  const operations: object[] = [];
  /** Per document written, the group it belongs to. */
  const owners: number[] = [];
  groups.forEach((group, g) => {
    if (group.ids.length === 0) return;
    const common = { "@timestamp": new Date(group.at).toISOString(), source: group.source, action: group.action };
    operations.push({ create: {} }, { ...common, kind: "count", _doc_count: group.ids.length });
    owners.push(g);
    for (const ids of distinctLists(group.ids)) {
      operations.push({ create: {} }, { ...common, kind: IDS_KIND, id: ids });
      owners.push(g);
    }
  });
  if (owners.length === 0) return { failedGroups: [] };
  try {
    const response = await client.bulk({ index: stream, require_data_stream: true, operations });
    if (!response.errors) return { failedGroups: [] };
    const failed = new Set<number>();
    let firstError: string | undefined;
    response.items.forEach((item, i) => {
      const result = Object.values(item)[0];
      if (result && result.status >= 300) {
        failed.add(owners[i]!);
        firstError ??= result.error ? formatReason(result.error as EsErrorCause) : `status ${result.status}`;
      }
    });
    return { failedGroups: [...failed], ...(firstError ? { firstError } : {}) };
  } catch (error) {
    return { failedGroups: groups.map((_, g) => g), firstError: toRequestFailure(error).description };
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
  // One id: its id documents and the old per-change events. Every change: the count documents and the old events.
  if (query.id !== undefined) filter.push({ term: { id: query.id } });
  const mustNot = query.id === undefined ? NOT_ID_DOCUMENTS : [];
  const aggregations = await aggregateEvents(client, stream, filter, mustNot, {
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
  const aggregations = await aggregateEvents(client, stream, filter, NOT_ID_DOCUMENTS, {
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
async function aggregateEvents(
  client: Client,
  stream: string,
  filter: object[],
  mustNot: object[],
  aggs: Record<string, object>,
) {
  try {
    const response = await client.search({
      index: stream,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      track_total_hits: false,
      query: { bool: { filter, must_not: mustNot } },
      aggs,
    });
    return response.aggregations;
  } catch (error) {
    throw dependencyFailure("sync events search", toRequestFailure(error));
  }
}
