import type { SearchClient as Client } from "./search-client.js";
import { DriftlessError } from "../core/errors.js";
import { dependencyFailure, toRequestFailure } from "./failure.js";
import { DRIFTLESS_METADATA } from "./metadata.js";

export interface IndexHit {
  readonly id: string;
  /** `driftless.key`: the encoded queue member of the document; undefined when someone else wrote it. */
  readonly key: string | undefined;
  /** The document's external version: the Cosmos `_ts` it was indexed at. */
  readonly version?: number;
}

export interface IndexScanPage {
  readonly hits: readonly IndexHit[];
  /** The point in time to use next (Elasticsearch may hand out a new id). */
  readonly pit: string;
  /** Sort values of the last hit: where the next page starts. */
  readonly after: readonly unknown[] | undefined;
}

/** The point in time was closed or expired: the scan cannot continue from its saved position. */
export class PointInTimeGoneError extends DriftlessError {
  constructor(detail: string) {
    super("elastic_pit_gone", `the point in time of the index scan is gone: ${detail}`, { retryable: true });
  }
}

/**
 * Every document of an alias, page by page, with a point in time and search_after sorted by
 * `_shard_doc` (the cheapest stable order): a consistent view while writes go on, resumable from
 * the saved point in time and sort values for as long as the point in time lives.
 */
export interface IndexScanner {
  open(alias: string, keepAlive: string): Promise<string>;
  page(options: {
    pit: string;
    after: readonly unknown[] | undefined;
    size: number;
    keepAlive: string;
    /** Only the entries this source wrote (`driftless.source`): for an index several sources share. */
    source?: string | undefined;
  }): Promise<IndexScanPage>;
  close(pit: string): Promise<void>;
}

const KEY_FIELD = DRIFTLESS_METADATA.keyField;

export function createIndexScanner(client: Client): IndexScanner {
  return {
    async open(alias, keepAlive) {
      try {
        return (await client.openPointInTime({ index: alias, keep_alive: keepAlive })).id;
      } catch (error) {
        throw dependencyFailure(`opening a point in time on "${alias}"`, toRequestFailure(error));
      }
    },

    async page({ pit, after, size, keepAlive, source }) {
      try {
        const response = await client.search({
          pit: { id: pit, keep_alive: keepAlive },
          size,
          sort: [{ _shard_doc: "asc" }],
          ...(source === undefined ? {} : { query: { term: { [DRIFTLESS_METADATA.sourceField]: source } } }),
          ...(after ? { search_after: after as never } : {}),
          _source: false,
          docvalue_fields: [KEY_FIELD],
          version: true,
          track_total_hits: false,
        });
        const hits = response.hits.hits.map((hit) => {
          const values = (hit.fields?.[KEY_FIELD] ?? []) as unknown[];
          return {
            id: hit._id ?? "",
            key: typeof values[0] === "string" ? values[0] : undefined,
            ...(typeof hit._version === "number" ? { version: hit._version } : {}),
          };
        });
        const last = response.hits.hits.at(-1);
        return { hits, pit: response.pit_id ?? pit, after: last?.sort ?? after };
      } catch (error) {
        const failure = toRequestFailure(error);
        if (
          failure.statusCode === 404 ||
          /search_context_missing|No search context found|missing_pit|point in time/i.test(failure.description)
        ) {
          throw new PointInTimeGoneError(failure.description);
        }
        throw dependencyFailure("a page of the index scan", failure);
      }
    },

    async close(pit) {
      try {
        await client.closePointInTime({ id: pit });
      } catch {
        // An expired point in time is gone anyway; one left open expires with its keep-alive.
      }
    },
  };
}
