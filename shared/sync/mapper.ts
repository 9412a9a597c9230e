import type { SourceConfig } from "../config/source.js";
import type { DocKey } from "../core/keys.js";

/** Cosmos system properties never reach the index; `_ts` becomes the external version instead. */
const SYSTEM_FIELDS = ["_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"];

export type Mapped =
  | {
      readonly action: "index";
      readonly id: string;
      readonly version: number;
      readonly document: Record<string, unknown>;
      readonly sharedId?: boolean;
    }
  | { readonly action: "delete"; readonly id: string; readonly version: number; readonly sharedId?: boolean };

/** `deleteVersion`: the external version a missing document is deleted at (shared/sync/freshness.ts). */
export type DocumentMapper = (key: DocKey, document: Record<string, unknown> | null, deleteVersion: number) => Mapped;

/**
 * Turns the current Cosmos document (or its absence) into the write the index needs. The sink
 * stamps `driftless.key` and `driftless.ts` on every indexed document, so reconcile can go from
 * an index entry back to its Cosmos key.
 */
export function createMapper(source: SourceConfig): DocumentMapper {
  const { transform, softDeleteField } = source;
  const rename = Object.entries(transform?.rename ?? {});
  const include = transform?.include ? new Set([...transform.include, "id"]) : null;
  const exclude = new Set([...SYSTEM_FIELDS, ...(transform?.exclude ?? [])]);

  const shared = sharesIds(source) ? ({ sharedId: true } as const) : {};

  return (key, document, deleteVersion) => {
    const id = documentId(source, key);
    if (document === null) return { action: "delete", id, version: deleteVersion, ...shared };
    const version = typeof document._ts === "number" ? document._ts : deleteVersion;
    if (softDeleteField && document[softDeleteField] === true) return { action: "delete", id, version, ...shared };

    const body: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(document)) {
      if (!exclude.has(field)) body[field] = value;
    }
    for (const [from, to] of rename) {
      if (from in body) {
        body[to] = body[from];
        delete body[from];
      }
    }
    if (include) {
      for (const field of Object.keys(body)) if (!include.has(field)) delete body[field];
    }
    return { action: "index", id, version, document: body, ...shared };
  };
}

export function documentId(source: Pick<SourceConfig, "documentId">, key: DocKey): string {
  return source.documentId === "partitionKeyAndId" ? `${JSON.stringify(key.pk)}:${key.id}` : key.id;
}

/**
 * Whether two keys of the source can have one _id: with `documentId: "id"` the _id is the Cosmos
 * id alone, which is unique only within a partition. Where the partition key is the id itself a
 * document cannot change partition without changing id; anywhere else a document moved between
 * partitions (deleted under one partition key, created under another) leaves two keys, processed
 * independently, writing one _id. External versions do not order them: the old key's delete
 * carries its read time, at or above the moved document's _ts, so it removes the moved document,
 * or its tombstone makes the moved document's write a version conflict
 * (test/integration/engine-shared-id.test.ts). Such a source's writes are marked `sharedId`: a
 * delete removes only the entry its own key wrote, and a write is not kept out by another key's
 * tombstone (shared/elastic/own-entries.ts).
 */
export function sharesIds(source: Pick<SourceConfig, "documentId" | "partitionKeyPaths">): boolean {
  return (
    source.documentId === "id" && !(source.partitionKeyPaths.length === 1 && source.partitionKeyPaths[0] === "/id")
  );
}
