import type { SearchClient as Client } from "./search-client.js";
import { formatReason, type BulkItemResult, type EsErrorCause } from "./classify.js";
import { toRequestFailure, type RequestFailure } from "./failure.js";
import { DRIFTLESS_METADATA } from "./metadata.js";
import type { SinkOp } from "../sync/ports.js";

/**
 * Writes to an _id that two keys can have (`sharedId`: documentId "id" where a document can move
 * between partitions; shared/sync/mapper.ts, sharesIds). External versions order the writes of
 * one key, not those of two: the old key's delete carries its read time, at or above the moved
 * document's `_ts`, so on its own it would remove the moved document, or leave a tombstone that
 * the moved document's write conflicts with. Two rules keep each key to its own entry:
 *
 * - A delete reads the entry first (a real-time multi-get on the write index). The entry is this
 *   key's: delete at the entry's own version, so that a write of the other key landing between the
 *   read and the delete, with a higher version, makes the delete a conflict. Another key's entry:
 *   nothing to delete. No entry: delete at the read time as any delete, whose tombstone keeps out an
 *   older copy of this key (a reimport scan's). A delete in the same request as another key's
 *   write of the _id is skipped.
 * - A sync write (`external_gte`) that is a version conflict while the _id holds no document met
 *   a tombstone, which only a delete can have left, and not one of this key's: the sync deletes a
 *   key only after reading it gone, so the key's later versions are newer than that read. It is
 *   written again at the tombstone's version; the next version of the document, newer than now,
 *   still replaces it.
 */

/** What to do with a `sharedId` delete. */
export type OwnEntryDecision =
  /** The entry is this key's: delete it at its own version. */
  | { readonly version: number }
  /** Another key's entry: nothing of this key's to delete. */
  | { readonly skip: true }
  /** The entry could not be read: try the key again later. */
  | { readonly retry: string };

interface MgetDoc {
  readonly _id: string;
  readonly found?: boolean;
  readonly _version?: number;
  readonly _source?: { readonly driftless?: { readonly key?: unknown } };
  readonly error?: { readonly type?: string; readonly reason?: string };
}

/**
 * A decision per position of the `sharedId` deletes in `ops` that are not plain deletes; a
 * position without one is sent as it is.
 */
export async function decideSharedDeletes(
  client: Client,
  target: string,
  ops: readonly SinkOp[],
): Promise<Map<number, OwnEntryDecision>> {
  const decisions = new Map<number, OwnEntryDecision>();
  // The common case, every index write and most batches, costs one pass and nothing more.
  if (!ops.some((op) => op.action === "delete" && op.sharedId)) return decisions;
  const indexedBy = new Map<string, string>();
  for (const op of ops) if (op.action === "index") indexedBy.set(op.id, op.member);
  const toRead: number[] = [];
  ops.forEach((op, i) => {
    if (op.action !== "delete" || !op.sharedId) return;
    const writer = indexedBy.get(op.id);
    if (writer !== undefined && writer !== op.member) decisions.set(i, { skip: true });
    else toRead.push(i);
  });
  if (toRead.length === 0) return decisions;

  const read = await readEntries(
    client,
    target,
    toRead.map((i) => ops[i]!.id),
  );
  for (const i of toRead) {
    const op = ops[i]!;
    const doc = read?.get(op.id);
    if (read === undefined) continue;
    else if (!doc || doc.error)
      decisions.set(i, {
        // Elasticsearch's error first, as an item error of the bulk request reads: a shard not
        // assigned yet or a node shedding load is then the cluster's failure (it pauses the sync and
        // spends no attempt; shared/resilience/classify.ts), not this key's.
        retry: doc?.error?.type
          ? `${formatReason(doc.error as EsErrorCause)} (reading the entry to delete)`
          : "reading the entry to delete failed: no answer",
      });
    else if (!doc.found) continue;
    else if (doc._source?.driftless?.key === op.member && typeof doc._version === "number")
      decisions.set(i, { version: doc._version });
    else decisions.set(i, { skip: true });
  }
  return decisions;
}

/**
 * Of the `sharedId` sync writes that came back as version conflicts, those that met a tombstone
 * (the _id holds no document), with the tombstone's version to write at instead.
 */
export async function overTombstones(
  client: Client,
  target: string,
  conflicts: readonly { readonly position: number; readonly op: SinkOp; readonly item: BulkItemResult | undefined }[],
): Promise<Map<number, number>> {
  const versions = new Map<number, number>();
  const candidates = conflicts.flatMap(({ position, op, item }) => {
    const current = /current version \[(\d+)\]/.exec(item?.error?.reason ?? "")?.[1];
    return current === undefined ? [] : [{ position, op, current: Number(current) }];
  });
  if (candidates.length === 0) return versions;
  const read = await readEntries(
    client,
    target,
    candidates.map(({ op }) => op.id),
  );
  // Unreadable: the conflict stands, as for any write; the key's next change is written as usual.
  if (read === undefined || typeof read === "string") return versions;
  for (const { position, op, current } of candidates) {
    const doc = read.get(op.id);
    if (doc && !doc.error && doc.found === false && Number.isSafeInteger(current) && current > op.version)
      versions.set(position, current);
  }
  return versions;
}

/**
 * The entries of `ids` on `target`'s write index, by id: undefined when there is no such index
 * (the bulk request reports that as for any write), a string saying why when they could not be read.
 */
async function readEntries(
  client: Client,
  target: string,
  ids: readonly string[],
): Promise<Map<string, MgetDoc> | undefined> {
  try {
    const index = await writeIndexOf(client, target);
    if (index === undefined) return undefined;
    const response = await client.mget({
      index,
      ids: [...new Set(ids)],
      _source_includes: [DRIFTLESS_METADATA.keyField],
      realtime: true,
    });
    return new Map((response.docs as unknown as MgetDoc[]).map((doc) => [doc._id, doc]));
  } catch (error) {
    throw new SharedEntriesUnreadable(toRequestFailure(error));
  }
}

/**
 * The entries could not be read at all (Elasticsearch down, throttling, refusing): the whole write
 * fails the way its bulk request would, so the sink reports it as a request failure (an outage
 * pauses the sync and spends no attempt) rather than as a failure of each delete.
 */
export class SharedEntriesUnreadable extends Error {
  constructor(readonly failure: RequestFailure) {
    super(`reading the entries of shared ids failed: ${failure.description}`);
    this.name = "SharedEntriesUnreadable";
  }
}

/**
 * The concrete index writes through `target` go to: its write index, or its only index; the
 * target itself when it is a concrete index. A get through an alias with more than one index (an
 * operator's index attached beside driftless's) is refused, so the entries are read from there.
 */
async function writeIndexOf(client: Client, target: string): Promise<string | undefined> {
  let aliases: Record<string, { aliases?: Record<string, { is_write_index?: boolean }> }>;
  try {
    aliases = await client.indices.getAlias({ name: target });
  } catch (error) {
    if (toRequestFailure(error).statusCode !== 404) throw error;
    return (await client.indices.exists({ index: target })) ? target : undefined;
  }
  const entries = Object.entries(aliases);
  const write = entries.find(([, state]) => state.aliases?.[target]?.is_write_index === true);
  if (write) return write[0];
  return entries.length === 1 ? entries[0]![0] : undefined;
}
