import type { Relation, SourceConfig } from "../config/source.js";
import { getPath, splitPath } from "./paths.js";
import type { RelatedReader } from "./ports.js";

/**
 * The related documents one batch (a sync batch, a reimport page) needs, read before the batch
 * is mapped: the transform is synchronous (shared/sync/transform-module.ts), so what it may ask
 * for is loaded first, one read per relation for the whole batch, and kept for that batch only,
 * so the next batch sees the related documents as they are then.
 */
export interface RelatedDocuments {
  /** The related document with this id, or undefined when there is none (deleted, or never there). */
  get(relation: string, id: string): Record<string, unknown> | undefined;
}

export const NO_RELATED: RelatedDocuments = { get: () => undefined };

/** The relation's foreign key in a document, as the related document's id; undefined when it holds no string or number. */
export function foreignKeyOf(
  relation: Pick<Relation, "foreignKey">,
  document: Record<string, unknown>,
): string | undefined {
  const value = getPath(document, splitPath(relation.foreignKey));
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Reads, for every relation of the source, the related documents the given documents point at:
 * one `readByIds` per relation (none when no document has a foreign key). A failed read throws;
 * the caller retries the batch, as for any Cosmos read.
 */
export async function loadRelated(
  source: Pick<SourceConfig, "relations">,
  documents: Iterable<Record<string, unknown> | null>,
  reader: RelatedReader,
): Promise<RelatedDocuments> {
  const relations = source.relations ?? [];
  if (relations.length === 0) return NO_RELATED;
  const list = [...documents];
  const loaded = new Map<string, Map<string, Record<string, unknown>>>();
  await Promise.all(
    relations.map(async (relation) => {
      const ids = new Set<string>();
      for (const document of list) {
        const id = document ? foreignKeyOf(relation, document) : undefined;
        if (id !== undefined) ids.add(id);
      }
      const byId = new Map<string, Record<string, unknown>>();
      if (ids.size > 0) {
        for (const related of await reader.readByIds(relation.container, [...ids])) {
          if (typeof related.id === "string") byId.set(related.id, related);
        }
      }
      loaded.set(relation.name, byId);
    }),
  );
  return { get: (relation, id) => loaded.get(relation)?.get(id) };
}
