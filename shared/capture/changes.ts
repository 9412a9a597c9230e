import type { SourceConfig } from "../config/source.js";
import { NONE_PARTITION_KEY, partitionKeyOf, type DocKey, type PartitionKeyScalar, type PartitionKeyValue } from "../core/keys.js";
import type { SourceQueue } from "../queue/types.js";

export interface ChangeKeys {
  readonly keys: DocKey[];
  /** Records that carry no document key (Cosmos never sends one; counted so it would show). */
  readonly skipped: number;
}

/**
 * The document keys of a batch of change-feed records. In latest-version mode a record is the
 * document itself; in all-versions-and-deletes mode it is `{current, previous, metadata}`, and a
 * delete has no `current`, so the key comes from `previous` or from the metadata.
 */
export function keysFromChanges(source: Pick<SourceConfig, "partitionKeyPaths">, changes: readonly unknown[]): ChangeKeys {
  const keys: DocKey[] = [];
  let skipped = 0;
  for (const change of changes) {
    const key = keyOf(source.partitionKeyPaths, change);
    if (key) keys.push(key);
    else skipped++;
  }
  return { keys, skipped };
}

function keyOf(paths: readonly string[], change: unknown): DocKey | null {
  if (!isObject(change)) return null;
  if (typeof change.id === "string") return { id: change.id, pk: partitionKeyOf(change, paths) };
  for (const image of [change.current, change.previous]) {
    if (isObject(image) && typeof image.id === "string") return { id: image.id, pk: partitionKeyOf(image, paths) };
  }
  const metadata = change.metadata;
  if (isObject(metadata) && typeof metadata.id === "string" && isObject(metadata.partitionKey)) {
    const values = paths.map((path) => deletedKeyValue(metadata.partitionKey as Record<string, unknown>, path));
    return { id: metadata.id, pk: (paths.length === 1 ? values[0] : values) as PartitionKeyValue };
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

/** Enqueues the keys of changed documents on the live lane; the sync reads their current version later. */
export async function enqueueChanges(
  source: SourceConfig,
  queue: SourceQueue,
  changes: readonly unknown[],
  now: number,
): Promise<{ enqueued: number; duplicates: number; skipped: number }> {
  const { keys, skipped } = keysFromChanges(source, changes);
  if (keys.length === 0) return { enqueued: 0, duplicates: 0, skipped };
  const { enqueued, duplicates } = await queue.enqueue(keys, { lane: "live", now });
  return { enqueued, duplicates, skipped };
}
