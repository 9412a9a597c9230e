import { z } from "zod";

/**
 * One source: a Cosmos container kept in step with one Elasticsearch alias.
 * Sources come from one JSON file or setting (DRIFTLESS_SOURCES_FILE / DRIFTLESS_SOURCES).
 */
const partitionKeyPath = z
  .string()
  .regex(/^(\/[^/\s]+)+$/, "must look like /field or /parent/field");

const transformSchema = z
  .object({
    /** Keep only these top-level fields (after rename). `id` is always kept. */
    include: z.array(z.string().min(1)).optional(),
    /** Drop these top-level fields. Cosmos system fields (_rid, _self, _etag, _attachments, _ts) are always dropped. */
    exclude: z.array(z.string().min(1)).optional(),
    /** Rename top-level fields: `{ "from": "to" }`. */
    rename: z.record(z.string().min(1), z.string().min(1)).optional(),
  })
  .strict();

export const sourceSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, - and _, at most 63 characters"),
    database: z.string().min(1),
    container: z.string().min(1),
    /** One path, or up to three for hierarchical partition keys. */
    partitionKeyPath: z.union([partitionKeyPath, z.array(partitionKeyPath).min(1).max(3)]),
    /** The alias searches use; the concrete index behind it is created and swapped by driftless. */
    index: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,200}$/, "a lowercase Elasticsearch name, not starting with - _ or +"),
    /** The Elasticsearch mapping of the index (core field types). */
    mapping: z.record(z.string(), z.unknown()).default({}),
    /** Extra index settings, e.g. shards and replicas. */
    settings: z.record(z.string(), z.unknown()).optional(),
    transform: transformSchema.optional(),
    /** A document whose field is `true` is removed from the index, as if deleted. */
    softDeleteField: z.string().min(1).optional(),
    /**
     * The Elasticsearch `_id`: the Cosmos id, or partition key and id together where ids repeat
     * across partitions.
     */
    documentId: z.enum(["id", "partitionKeyAndId"]).default("id"),
  })
  .strict();

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
    });
  });

export function toSourceConfig(definition: SourceDefinition): SourceConfig {
  const { partitionKeyPath: path, ...rest } = definition;
  return Object.freeze({ ...rest, partitionKeyPaths: Object.freeze(Array.isArray(path) ? path : [path]) });
}
