import type { SourceConfig } from "../config/source.js";
import {
  encodeKey,
  NONE_PARTITION_KEY,
  partitionKeyOrInvalid,
  type DocKey,
  type PartitionKeyError,
  type PartitionKeyScalar,
  type PartitionKeyValue,
} from "../core/keys.js";
import type { Failure, SourceQueue } from "../sync/ports.js";

export interface ChangeKeys {
  readonly keys: DocKey[];
  /** The Cosmos version of each key's change, in order (undefined where the record has none); see shared/sync/freshness.ts. */
  readonly versions: (ChangeVersion | undefined)[];
  /** Records that carry no document key (Cosmos never sends one; counted so it would show). */
  readonly skipped: number;
  /**
   * Documents whose partition key path holds an object or an array: no read can find them by
   * such a key, so they go to the dead letters with the reason, their key carrying the bad level
   * as an InvalidPartitionKey (core/keys.ts), instead of failing the whole page forever.
   */
  readonly invalid: Failure[];
}

export interface ChangeVersion {
  /** The document's `_ts`, or a delete's `crts` (seconds). */
  readonly version: number;
  readonly deleted: boolean;
  /** The version's `_etag`, which tells apart two versions of the same second. */
  readonly etag?: string;
}

/**
 * The document keys of a batch of change-feed records. In latest-version mode a record is the
 * document itself; in all-versions-and-deletes mode it is `{current, previous, metadata}`, and a
 * delete has no `current`, so the key comes from `previous` or from the metadata.
 */
export function keysFromChanges(
  source: Pick<SourceConfig, "partitionKeyPaths">,
  changes: readonly unknown[],
): ChangeKeys {
  const keys: DocKey[] = [];
  const versions: (ChangeVersion | undefined)[] = [];
  const invalid: Failure[] = [];
  let skipped = 0;
  for (const change of changes) {
    const found = keyOf(source.partitionKeyPaths, change);
    if (!found) skipped++;
    else if (found.invalid) {
      const { reason, message } = found.invalid;
      invalid.push({
        member: encodeKey(found.key),
        reason,
        error: `capture cannot enqueue the document's key: ${message}`,
      });
    } else {
      keys.push(found.key);
      versions.push(versionOf(change));
    }
  }
  return { keys, versions, skipped, invalid };
}

function versionOf(change: unknown): ChangeVersion | undefined {
  if (!isObject(change)) return undefined;
  const metadata = isObject(change.metadata) ? change.metadata : undefined;
  if (metadata?.operationType === "delete")
    return typeof metadata.crts === "number" ? { version: metadata.crts, deleted: true } : undefined;
  const document = isObject(change.current) ? change.current : change;
  if (typeof document._ts !== "number") return undefined;
  return {
    version: document._ts,
    deleted: false,
    ...(typeof document._etag === "string" ? { etag: document._etag } : {}),
  };
}

function keyOf(paths: readonly string[], change: unknown): { key: DocKey; invalid?: PartitionKeyError } | null {
  if (!isObject(change)) return null;
  const fromDocument = (document: Record<string, unknown>, id: string) => {
    const { pk, invalid } = partitionKeyOrInvalid(document, paths);
    return { key: { id, pk }, ...(invalid ? { invalid } : {}) };
  };
  if (typeof change.id === "string") return fromDocument(change, change.id);
  for (const image of [change.current, change.previous]) {
    if (isObject(image) && typeof image.id === "string") return fromDocument(image, image.id);
  }
  const metadata = change.metadata;
  if (isObject(metadata) && typeof metadata.id === "string" && isObject(metadata.partitionKey)) {
    const values = paths.map((path) => deletedKeyValue(metadata.partitionKey as Record<string, unknown>, path));
    return { key: { id: metadata.id, pk: (paths.length === 1 ? values[0] : values) as PartitionKeyValue } };
  }
  return null;
}

/**
 * A delete's partition key value from its metadata. The service names each level by its property
 * name (`{"tenant":"a"}` for the path /tenant; .NET's ChangeFeedMetadata.PartitionKey, "a dictionary
 * where the key is the partition key property name"), not by its path; a level it leaves out was
 * the None value. For a nested path (/a/b) the name is looked up, then the path without its slash.
 */
function deletedKeyValue(partitionKey: Record<string, unknown>, path: string): PartitionKeyScalar {
  const segments = path.split("/").filter(Boolean);
  for (const name of [segments.at(-1)!, segments.join("/"), path]) {
    if (name in partitionKey) return partitionKey[name] as PartitionKeyScalar;
  }
  return NONE_PARTITION_KEY;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Enqueues the keys of changed documents on the live lane; the sync reads their current version
 * later. Documents whose key is unusable are dead-lettered with their reason (`invalid`).
 */
export async function enqueueChanges(
  source: SourceConfig,
  queue: SourceQueue,
  changes: readonly unknown[],
  now: number,
): Promise<{ enqueued: number; duplicates: number; skipped: number; invalid: number }> {
  const { keys, versions, skipped, invalid } = keysFromChanges(source, changes);
  if (invalid.length > 0) await queue.reject(invalid, { lane: "live", now });
  if (keys.length === 0) return { enqueued: 0, duplicates: 0, skipped, invalid: invalid.length };
  // Recorded first: once a key is claimable, its read must be held to the version seen here.
  const records = keys.flatMap((key, i) => (versions[i] ? [{ member: encodeKey(key), ...versions[i]! }] : []));
  if (records.length > 0) await queue.recordVersions(records, now);
  const { enqueued, duplicates } = await queue.enqueue(keys, { lane: "live", now });
  return { enqueued, duplicates, skipped, invalid: invalid.length };
}
