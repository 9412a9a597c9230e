import { encodeKey, partitionKeyOrInvalid, type DocKey } from "../core/keys.js";
import type { SourceConfig } from "../config/source.js";
import type { ScanPage } from "../cosmos/scan.js";
import type { SinkOp, Failure } from "../sync/ports.js";
import { detachedDocuments } from "../elastic/serialize.js";
import { chunkByBytes } from "../sync/chunk.js";
import { mapperFor } from "../sync/mapper.js";
import { NO_RELATED, type RelatedDocuments } from "../sync/relations.js";

/** One page of a reimport scan, keyed, mapped and split into the bulk requests that write it. */
export interface PreparedPage {
  /** Where the next page starts; undefined after the last page. */
  readonly continuation: string | undefined;
  /** Documents the page held. */
  readonly scanned: number;
  /** The page's writes, split for sending (splitRequests), each op's document reduced to its JSON text (detachedDocuments). */
  readonly requests: readonly (readonly SinkOp[])[];
  /** Every keyed document of the page by its queue member, to hand a failed write to the queue. */
  readonly keys: ReadonlyMap<string, DocKey>;
  /** Documents the mapper refused: the sync maps them again and dead-letters them with its reason. */
  readonly unmapped: readonly DocKey[];
  /** Why each document without an id was skipped. */
  readonly unkeyed: readonly string[];
  /** Documents whose partition key cannot be a Cosmos key (an object or an array): dead letters with their reason. */
  readonly rejected: readonly Failure[];
  /** When the page was read from Cosmos (ms); see pageTooOld. */
  readonly readAt: number;
}

export interface PrepareOptions {
  readonly batchMaxBytes: number;
  readonly bulkConcurrency: number;
}

/**
 * Keys and maps a page and splits it into its bulk requests. Splitting sizes each request by its
 * documents' JSON, which serializes them (serialize.ts keeps the text for the sink to send), so a
 * page prepared while the one before it is written (ReadAhead) leaves only sending to the step.
 */
export function preparePage(
  config: SourceConfig,
  page: ScanPage,
  readAt: number,
  options: PrepareOptions,
  related: RelatedDocuments = NO_RELATED,
): PreparedPage {
  const readAtSeconds = Math.floor(readAt / 1000);
  const mapper = mapperFor(config);
  const ops: SinkOp[] = [];
  const keys = new Map<string, DocKey>();
  const unmapped: DocKey[] = [];
  const unkeyed: string[] = [];
  const rejected: Failure[] = [];
  for (const document of page.documents) {
    if (typeof document.id !== "string") {
      unkeyed.push("document without a string id");
      continue;
    }
    const { pk, invalid } = partitionKeyOrInvalid(document, config.partitionKeyPaths);
    const key: DocKey = { id: document.id, pk };
    if (invalid) {
      rejected.push({
        member: encodeKey(key),
        reason: invalid.reason,
        error: `reimport cannot index the document's key: ${invalid.message}`,
      });
      continue;
    }
    const member = encodeKey(key);
    keys.set(member, key);
    try {
      ops.push({ ...mapper(key, document, readAtSeconds, related), member });
    } catch {
      unmapped.push(key);
    }
  }
  return {
    continuation: page.continuation,
    scanned: page.documents.length,
    // As text only: a page read ahead waits for the one before it, and then for its own requests.
    requests: [...splitRequests(detachedDocuments(ops), options.batchMaxBytes, options.bulkConcurrency)],
    keys,
    unmapped,
    unkeyed,
    rejected,
    readAt,
  };
}

/**
 * Requests of at most ⌈ops / parts⌉ documents and `maxBytes` each: `parts` is how many the
 * step sends at once (REIMPORT_BULK_CONCURRENCY), since Elasticsearch works one bulk request per
 * shard on one thread.
 */
function* splitRequests(ops: readonly SinkOp[], maxBytes: number, parts: number): Generator<SinkOp[]> {
  const perRequest = Math.max(1, Math.ceil(ops.length / parts));
  for (const chunk of chunkByBytes(ops, maxBytes)) {
    for (let start = 0; start < chunk.length; start += perRequest) yield chunk.slice(start, start + perRequest);
  }
}

/**
 * At most one page read and prepared ahead per job, kept by this process only: the continuation
 * it belongs to must match the one the job resumes from, so a page is never used for another
 * position, and a page read ahead by a runner that then lost the job is simply dropped after a
 * minute. A failed read-ahead fails nothing by itself: the page is read again when it is needed.
 */
export class ReadAhead {
  private readonly pages = new Map<
    string,
    { continuation: string; page: Promise<PreparedPage | undefined>; at: number }
  >();

  put(jobId: string, continuation: string, read: () => Promise<PreparedPage>): void {
    const now = Date.now();
    for (const [id, entry] of this.pages) if (now - entry.at > 60_000) this.pages.delete(id);
    this.pages.set(jobId, { continuation, page: read().catch(() => undefined), at: now });
  }

  async take(
    jobId: string,
    continuation: string | undefined,
    read: () => Promise<PreparedPage>,
  ): Promise<PreparedPage> {
    const entry = this.pages.get(jobId);
    this.pages.delete(jobId);
    const ahead = entry && entry.continuation === continuation ? await entry.page : undefined;
    return ahead ?? read();
  }
}
