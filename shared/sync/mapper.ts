import type { SourceConfig } from "../config/source.js";
import type { DocKey } from "../core/keys.js";

/** Cosmos system properties never reach the index; `_ts` becomes the external version instead. */
const SYSTEM_FIELDS = ["_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"];

export type Mapped =
  | { readonly action: "index"; readonly id: string; readonly version: number; readonly document: Record<string, unknown> }
  | { readonly action: "delete"; readonly id: string; readonly version: number };

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

  return (key, document, deleteVersion) => {
    const id = documentId(source, key);
    if (document === null) return { action: "delete", id, version: deleteVersion };
    const version = typeof document._ts === "number" ? document._ts : deleteVersion;
    if (softDeleteField && document[softDeleteField] === true) return { action: "delete", id, version };

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
    return { action: "index", id, version, document: body };
  };
}

export function documentId(source: Pick<SourceConfig, "documentId">, key: DocKey): string {
  return source.documentId === "partitionKeyAndId" ? `${JSON.stringify(key.pk)}:${key.id}` : key.id;
}
