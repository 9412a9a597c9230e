import type { SourceConfig } from "../config/source.js";
import { describeError } from "../core/errors.js";
import type { DocKey } from "../core/keys.js";
import { getPath, hasPath, pick, splitPath, withoutFields, withoutPath, withPath } from "./paths.js";
import { foreignKeyOf, NO_RELATED, type RelatedDocuments } from "./relations.js";
import { loadTransform, type TransformContext, type TransformFunction } from "./transform-module.js";

/** Cosmos system properties never reach the index; `_ts` becomes the external version instead. */
const SYSTEM_FIELDS = ["_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"];

/** Where the write goes in Elasticsearch besides the _id: the source's routing and ingest pipeline. */
interface Placement {
  /** The shard routing (source `routing`); the same for a key's writes and deletes. */
  readonly routing?: string;
}

export type Mapped =
  | ({
      readonly action: "index";
      readonly id: string;
      readonly version: number;
      readonly document: Record<string, unknown>;
      readonly sharedId?: boolean;
      /** The ingest pipeline the document goes through (source `pipeline`). */
      readonly pipeline?: string;
    } & Placement)
  | ({
      readonly action: "delete";
      readonly id: string;
      readonly version: number;
      readonly sharedId?: boolean;
    } & Placement);

/**
 * `deleteVersion`: the external version a missing document is deleted at (shared/sync/freshness.ts).
 * `related`: the batch's related documents (shared/sync/relations.ts), for a source with relations.
 */
export type DocumentMapper = (
  key: DocKey,
  document: Record<string, unknown> | null,
  deleteVersion: number,
  related?: RelatedDocuments,
) => Mapped;

/** The source's transform module threw for a document, or returned something that is not a document. */
export class TransformError extends Error {
  override readonly name = "TransformError";
}

/**
 * Turns the current Cosmos document (or its absence) into the write the index needs, in this
 * order (docs/transforms.md):
 * 1. no document, a soft-deleted one, or one the source's filter does not pass: a delete;
 * 2. the transform module, given the document as read (system fields included): null or
 *    undefined is a delete, a throw is a TransformError (the sync dead-letters the key with it);
 * 3. exclude (and Cosmos system fields), rename, include, on the transform's result.
 * The version is always the Cosmos document's `_ts`, whatever the transform returns.
 *
 * The sink stamps `driftless.key` and `driftless.ts` on every indexed document, so reconcile can
 * go from an index entry back to its Cosmos key.
 */
export function createMapper(source: SourceConfig): DocumentMapper {
  const { transform, softDeleteField, filter, pipeline } = source;
  const transformFn = transform?.module ? loadTransform(transform.module, transform.export ?? "default") : undefined;
  const rename = Object.entries(transform?.rename ?? {}).map(([from, to]) => [splitPath(from), splitPath(to)] as const);
  const include = transform?.include ? [...transform.include, "id"].map(splitPath) : null;
  const exclude = [...SYSTEM_FIELDS, ...(transform?.exclude ?? [])].map(splitPath);
  // Top-level fields go in one copy (paths.ts says why); nested paths one by one after it.
  const excludeFields = new Set(exclude.filter((path) => path.length === 1).map((path) => path[0]!));
  const excludeNested = exclude.filter((path) => path.length > 1);
  const filterPath = filter ? splitPath(filter.field) : undefined;

  const shared = sharesIds(source) ? ({ sharedId: true } as const) : {};
  const through = { ...(pipeline ? { pipeline } : {}), ...(source.sharedIndex ? { source: source.name } : {}) };

  const relations = new Map((source.relations ?? []).map((relation) => [relation.name, relation]));

  return (key, document, deleteVersion, related = NO_RELATED) => {
    const id = documentId(source, key);
    const placed = { ...shared, ...routingOf(source, key) };
    if (document === null) return { action: "delete", id, version: deleteVersion, ...placed };
    const version = typeof document._ts === "number" ? document._ts : deleteVersion;
    if (softDeleteField && document[softDeleteField] === true) return { action: "delete", id, version, ...placed };
    if (filter && getPath(document, filterPath!) !== filter.equals) return { action: "delete", id, version, ...placed };

    let body = document;
    if (transformFn) {
      const read = document;
      const result = runTransform(transformFn, document, {
        source: source.name,
        key,
        related(name) {
          const relation = relations.get(name);
          if (!relation) throw new TransformError(`the source has no relation "${name}"`);
          const id = foreignKeyOf(relation, read);
          return id === undefined ? undefined : related.get(name, id);
        },
      });
      if (result === undefined) return { action: "delete", id, version, ...placed };
      body = result;
    }
    // Always a fresh object, even when nothing is excluded: the sink caches the JSON of each document object.
    body = withoutFields(body, excludeFields);
    for (const path of excludeNested) body = withoutPath(body, path);
    for (const [from, to] of rename) {
      if (hasPath(body, from)) body = withPath(withoutPath(body, from), to, getPath(body, from));
    }
    if (include) body = pick(body, include);
    return { action: "index", id, version, document: body, ...placed, ...through };
  };
}

/** The transform's document, or undefined to delete; throws TransformError for a throw or a result that is no document. */
function runTransform(
  fn: TransformFunction,
  document: Record<string, unknown>,
  context: TransformContext,
): Record<string, unknown> | undefined {
  let result: unknown;
  try {
    result = fn(document, context);
  } catch (error) {
    if (error instanceof TransformError) throw error;
    throw new TransformError(`transform threw: ${describeError(error)}`);
  }
  if (result === null || result === undefined) return undefined;
  if (typeof (result as { then?: unknown }).then === "function") {
    throw new TransformError("transform returned a promise: transforms must be synchronous");
  }
  if (typeof result !== "object" || Array.isArray(result)) {
    throw new TransformError(
      `transform returned ${Array.isArray(result) ? "an array" : `a ${typeof result}`}, not a document (an object), null or undefined`,
    );
  }
  return result as Record<string, unknown>;
}

/**
 * Routing comes from the key alone, never from a document field: a delete has no document to read
 * a field from, and must reach the shard the write went to. The first level of a hierarchical key
 * (the tenant, usually), so one tenant's documents share a shard. A key without a value (Cosmos's
 * "none" partition) is routed by _id, as unrouted documents are.
 */
function routingOf(source: SourceConfig, key: DocKey): { routing?: string } {
  if (source.routing !== "partitionKey") return {};
  const value = Array.isArray(key.pk) ? key.pk[0] : key.pk;
  if (value === null || value === undefined || value === "") return {};
  return { routing: String(value) };
}

const mappers = new WeakMap<SourceConfig, DocumentMapper>();

/** The source's document mapper, built once per source configuration: the sync, reimport, rebuild and reconcile share it. */
export function mapperFor(source: SourceConfig): DocumentMapper {
  let mapper = mappers.get(source);
  if (!mapper) {
    mapper = createMapper(source);
    mappers.set(source, mapper);
  }
  return mapper;
}

export function documentId(source: Pick<SourceConfig, "documentId" | "name" | "sharedIndex">, key: DocKey): string {
  const id = source.documentId === "partitionKeyAndId" ? `${JSON.stringify(key.pk)}:${key.id}` : key.id;
  // In an index several sources share, ids are qualified by source: two containers' "42" are two entries.
  return source.sharedIndex ? `${idPrefix(source)}${id}` : id;
}

/** What qualifies a shared-index source's ids: its `sharedIndex.idPrefix`, by default `<source>:`. */
export function idPrefix(source: Pick<SourceConfig, "name" | "sharedIndex">): string {
  return source.sharedIndex?.idPrefix ?? `${source.name}:`;
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
