import { z } from "zod";
import { isIndexVersionOf, rebuildAlias } from "../elastic/index-names.js";

/**
 * One source: a Cosmos container kept in step with one Elasticsearch alias.
 * Sources come from one JSON file or setting (DRIFTLESS_SOURCES_FILE / DRIFTLESS_SOURCES).
 */
const partitionKeyPath = z.string().regex(/^(\/[^/\s]+)+$/, "must look like /field or /parent/field");

/** A dotted path (`customer.address.city`), or a top-level name; shared/sync/paths.ts. */
const fieldPath = z
  .string()
  .min(1)
  .refine((path) => path.split(".").every((part) => part !== ""), "a field name or a dotted path like a.b.c");

const transformSchema = z
  .object({
    /**
     * A JavaScript module the user writes, resolved relative to DRIFTLESS_SOURCES_FILE (or the
     * working directory for DRIFTLESS_SOURCES), exporting a function from the Cosmos document to
     * the document to index, or to null/undefined to keep it out of the index. Runs before
     * include, exclude and rename. docs/transforms.md.
     */
    module: z.string().min(1).optional(),
    /** The module's export that is the transform. @defaultValue "default" */
    export: z.string().min(1).optional(),
    /** Keep only these fields (after rename); dotted paths reach nested fields. `id` is always kept. */
    include: z.array(fieldPath).optional(),
    /** Drop these fields; dotted paths reach nested fields. Cosmos system fields (_rid, _self, _etag, _attachments, _ts) are always dropped. */
    exclude: z.array(fieldPath).optional(),
    /** Rename (move) fields: `{ "from": "to" }`, dotted paths on either side. Not into `driftless` or `driftless.…`: the sink refuses those. */
    rename: z
      .record(
        fieldPath,
        fieldPath.refine(
          (to) => to !== "driftless" && !to.startsWith("driftless."),
          "reserved for driftless's metadata (driftless.key, driftless.ts)",
        ),
      )
      .optional(),
  })
  .strict()
  .refine((transform) => transform.export === undefined || transform.module !== undefined, {
    message: "export names an export of the transform module: give module too",
    path: ["export"],
  });

/** Only Cosmos documents whose field equals the value are indexed; any other is deleted from the index. */
const filterSchema = z
  .object({
    field: fieldPath,
    equals: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  })
  .strict();

/**
 * Another container's documents this source embeds (docs/_incoming/relations.md): the transform
 * reads the related document through its context, and a change to a related document re-syncs the
 * documents of this source that point at it.
 */
const relationSchema = z
  .object({
    /** What the transform asks for: `context.related("customer")`. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, "a letter, then letters, digits or _ (at most 63)"),
    /** The related container, in the source's database; it may be another source's container. */
    container: z.string().min(1),
    /** The field of this source's documents holding the related document's `id` (a dotted path). */
    foreignKey: fieldPath,
    /**
     * How the documents of this source that point at a changed related document are found: a
     * Cosmos query on `foreignKey` in this source's container, or a terms query on `field` in
     * this source's index (the field the transform puts the foreign key in). @defaultValue query
     */
    dependents: z
      .discriminatedUnion("via", [
        z.object({ via: z.literal("query") }).strict(),
        z.object({ via: z.literal("index"), field: fieldPath }).strict(),
      ])
      .default({ via: "query" }),
  })
  .strict();

export type Relation = z.infer<typeof relationSchema>;

export const sourceSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, - and _, at most 63 characters"),
    database: z.string().min(1),
    container: z.string().min(1),
    /** One path, or up to three for hierarchical partition keys. */
    partitionKeyPath: z.union([partitionKeyPath, z.array(partitionKeyPath).min(1).max(3)]),
    /** The alias searches use; the concrete index behind it is created and swapped by driftless. */
    index: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,200}$/, "a lowercase Elasticsearch name, not starting with - _ or +"),
    /**
     * The search target this source writes to: a name from the sources file's `targets` map.
     * Without it, the engine of the ELASTICSEARCH_* settings; docs/engines.md.
     */
    target: z.string().min(1).optional(),
    /**
     * This source shares its alias (`index`) with other sources that say so too: its `_id`s are
     * qualified (`<source>:<id>`, or `idPrefix` and the id) and its entries carry
     * `driftless.source`, by which reconcile and counts tell them apart. `true` is `{}`. A rebuild
     * of such a source is refused (docs/engines.md says why).
     */
    sharedIndex: z
      .union([
        z.literal(true).transform((): { idPrefix?: string } => ({})),
        z.object({ idPrefix: z.string().min(1).max(100).optional() }).strict(),
      ])
      .optional(),
    /** The Elasticsearch mapping of the index (core field types). */
    mapping: z.record(z.string(), z.unknown()).default({}),
    /** Extra index settings, e.g. shards and replicas. */
    settings: z.record(z.string(), z.unknown()).optional(),
    transform: transformSchema.optional(),
    /** Documents of other containers the transform embeds, and how their changes reach this source. */
    relations: z.array(relationSchema).optional(),
    /** Which Cosmos documents are indexed, tested before the transform; docs/transforms.md. */
    filter: filterSchema.optional(),
    /**
     * Elasticsearch routing for every write: `partitionKey` routes by the partition key value (the
     * first level of a hierarchical key). Only from the key, so a delete, which has no document
     * left to read a field from, is routed where the write went; docs/transforms.md.
     */
    routing: z.enum(["partitionKey"]).optional(),
    /** An Elasticsearch ingest pipeline every indexed document of this source goes through. */
    pipeline: z.string().min(1).optional(),
    /** A document whose field is `true` is removed from the index, as if deleted. */
    softDeleteField: z.string().min(1).optional(),
    /**
     * The Elasticsearch `_id`: the Cosmos id, or partition key and id together where ids repeat
     * across partitions.
     */
    documentId: z.enum(["id", "partitionKeyAndId"]).default("id"),
  })
  .strict()
  .superRefine((source, ctx) => {
    // With documentId "id" two keys can write one _id (shared/sync/mapper.ts, sharesIds). Under
    // routing those would be two entries on two shards, and a delete routed by one key would
    // miss the other's: the _id must say the routing.
    const pkIsId = [source.partitionKeyPath].flat().join() === "/id";
    if (source.routing && source.documentId === "id" && !pkIsId) {
      ctx.addIssue({
        code: "custom",
        path: ["routing"],
        message:
          'routing by partition key needs documentId "partitionKeyAndId" (or the partition key /id), so that one _id always has one routing',
      });
    }
    const names = new Set<string>();
    source.relations?.forEach((relation, i) => {
      if (names.has(relation.name))
        ctx.addIssue({
          code: "custom",
          path: ["relations", i, "name"],
          message: `duplicate relation "${relation.name}"`,
        });
      names.add(relation.name);
      // Its own container's capture already enqueues the source's changes; a relation to itself
      // would find every dependent of a document on each of its own changes.
      if (relation.container === source.container)
        ctx.addIssue({
          code: "custom",
          path: ["relations", i, "container"],
          message: "a relation names another container than the source's own",
        });
    });
    if (source.relations?.length && !source.transform?.module)
      ctx.addIssue({
        code: "custom",
        path: ["relations"],
        message: "relations are read by a transform module: give transform.module too",
      });
  });

export type SourceDefinition = z.infer<typeof sourceSchema>;

/** A validated source with its partition key paths normalised to a list. */
export interface SourceConfig extends Omit<SourceDefinition, "partitionKeyPath"> {
  readonly partitionKeyPaths: readonly string[];
}

export const sourcesSchema = z
  .array(sourceSchema)
  .min(1, "at least one source is needed")
  .superRefine((sources, ctx) => {
    const seen = new Set<string>();
    sources.forEach((source, i) => {
      if (seen.has(source.name)) {
        ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate source name "${source.name}"` });
      }
      seen.add(source.name);
      // Names only collide within one engine: the same alias on two targets is two aliases.
      for (const earlier of sources.slice(0, i).filter((other) => sameTarget(other, source))) {
        const clash = sharing(source, earlier) ? sharingProblem(source, earlier) : indexClash(source, earlier);
        if (clash)
          ctx.addIssue({
            code: "custom",
            path: [i, clash.startsWith("mapping") ? "mapping" : "index"],
            message: clash,
          });
      }
    });
  });

function sameTarget(a: SourceDefinition, b: SourceDefinition): boolean {
  return (a.target ?? "default") === (b.target ?? "default");
}

/** Both sources opted in to one alias (`sharedIndex`): not a clash, if they can live in one index. */
function sharing(a: SourceDefinition, b: SourceDefinition): boolean {
  return a.index === b.index && a.sharedIndex !== undefined && b.sharedIndex !== undefined;
}

/**
 * Why two sources cannot share their index, or undefined: one index has one mapping and one set
 * of settings, so a field both map must be mapped alike, settings must agree, and their `_id`s
 * must not be able to meet (distinct prefixes).
 */
function sharingProblem(later: SourceDefinition, earlier: SourceDefinition): string | undefined {
  const head = `source "${later.name}" shares index "${later.index}" with source "${earlier.name}"`;
  const mine = (later.mapping.properties ?? {}) as Record<string, unknown>;
  const theirs = (earlier.mapping.properties ?? {}) as Record<string, unknown>;
  for (const field of Object.keys(mine)) {
    if (field in theirs && JSON.stringify(mine[field]) !== JSON.stringify(theirs[field]))
      return `mapping.properties.${field}: ${head}, which maps the field differently; one index has one mapping`;
  }
  if (later.settings && earlier.settings && JSON.stringify(later.settings) !== JSON.stringify(earlier.settings))
    return `${head}, with other index settings; give them on one source only, or the same on both`;
  const prefix = (source: SourceDefinition) => source.sharedIndex?.idPrefix ?? `${source.name}:`;
  const [a, b] = [prefix(later), prefix(earlier)];
  if (a.startsWith(b) || b.startsWith(a))
    return `${head}, and their id prefixes "${a}" and "${b}" can make one _id; give each its own`;
  return undefined;
}

/**
 * Why two sources' Elasticsearch names collide, or undefined. Each source owns its alias, the
 * alias a rebuild puts on its new index and the index versions it creates behind the alias; a
 * rebuild of one source deletes the index versions behind its alias, and reconcile and the
 * rebuild's clean-up act on whatever those names point at, so another source's data there would
 * be deleted. Names the later source first, then the earlier one.
 */
function indexClash(later: SourceDefinition, earlier: SourceDefinition): string | undefined {
  const [a, b] = [later.index, earlier.index];
  const head = `source "${later.name}": index "${a}"`;
  const tail = `: each source needs names of its own, or a rebuild of one deletes the other's index`;
  if (a === b)
    return `${head} is also the index of source "${earlier.name}"${tail} (or both set "sharedIndex" to share it)`;
  if (a === rebuildAlias(b))
    return `${head} is the alias a rebuild of source "${earlier.name}" puts on its new index${tail}`;
  if (isIndexVersionOf(b, a))
    return `${head} is named like an index version of source "${earlier.name}" ("${b}-" and 17 digits)${tail}`;
  if (b === rebuildAlias(a))
    return `${head} has the rebuild alias "${b}", which is the index of source "${earlier.name}"${tail}`;
  if (isIndexVersionOf(a, b))
    return `${head} names its index versions "${a}-" and 17 digits, like the index "${b}" of source "${earlier.name}"${tail}`;
  return undefined;
}

export function toSourceConfig(definition: SourceDefinition): SourceConfig {
  const { partitionKeyPath: path, ...rest } = definition;
  return Object.freeze({ ...rest, partitionKeyPaths: Object.freeze(Array.isArray(path) ? path : [path]) });
}
