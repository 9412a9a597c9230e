import type { Relation, SourceConfig } from "../config/source.js";
import type { DependentsFinder, SourceQueue } from "../sync/ports.js";

/** One relation that names a container, with what enqueues its source's dependents. */
export interface RelationTarget {
  readonly source: string;
  readonly relation: string;
  readonly queue: SourceQueue;
  readonly finder: DependentsFinder;
}

/** A container some source's relations name, and those relations. */
export interface RelatedContainer {
  readonly database: string;
  readonly container: string;
  readonly relations: readonly { readonly source: SourceConfig; readonly relation: Relation }[];
}

/**
 * Every container the sources' relations name, once each: one change-feed capture per container
 * serves every relation to it, apart from the capture of a source that may read the same
 * container (that one enqueues the container's own keys, this one its dependents').
 */
export function relatedContainers(sources: readonly SourceConfig[]): RelatedContainer[] {
  const byContainer = new Map<string, RelatedContainer & { relations: RelatedContainer["relations"][number][] }>();
  for (const source of sources) {
    for (const relation of source.relations ?? []) {
      const id = JSON.stringify([source.database, relation.container]);
      let entry = byContainer.get(id);
      if (!entry) {
        entry = { database: source.database, container: relation.container, relations: [] };
        byContainer.set(id, entry);
      }
      entry.relations.push({ source, relation });
    }
  }
  return [...byContainer.values()];
}

/**
 * The name a related container's capture keeps its lease and continuation under, beside the
 * sources' (which are lowercase, so `~` never clashes with one).
 */
export function relationCaptureName(related: Pick<RelatedContainer, "database" | "container">): string {
  return `~related~${related.database}~${related.container}`;
}

/**
 * The ids of the changed documents: a record is the document itself (latest-version mode), or
 * `{current, previous, metadata}` (all-versions-and-deletes), where a delete has its id in
 * `previous` or the metadata only.
 */
export function changedIds(changes: readonly unknown[]): string[] {
  const ids = new Set<string>();
  for (const change of changes) {
    if (!isObject(change)) continue;
    const candidates = [change, change.current, change.previous, change.metadata];
    const id = candidates.find((image) => isObject(image) && typeof image.id === "string") as
      | { id: string }
      | undefined;
    if (id) ids.add(id.id);
  }
  return [...ids];
}

/**
 * Enqueues, on each relation's source, the documents that point at a changed related document,
 * so their sync reads the related document again (a deleted one reads as none). Throws when any
 * lookup or enqueue fails: capture then keeps its checkpoint before these changes and reads them
 * again, so no dependent is lost.
 */
export async function enqueueDependents(
  targets: readonly RelationTarget[],
  changes: readonly unknown[],
  now: number,
): Promise<{ enqueued: number; skipped: number; dependents: number }> {
  const ids = changedIds(changes);
  let enqueued = 0;
  let dependents = 0;
  if (ids.length > 0) {
    for (const target of targets) {
      const keys = await target.finder.find(ids);
      dependents += keys.length;
      if (keys.length > 0) enqueued += (await target.queue.enqueue(keys, { lane: "live", now })).enqueued;
    }
  }
  return { enqueued, skipped: changes.length - countWithId(changes), dependents };
}

function countWithId(changes: readonly unknown[]): number {
  return changes.filter((change) => changedIds([change]).length > 0).length;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
