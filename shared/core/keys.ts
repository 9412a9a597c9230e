/**
 * A document key: what the queue carries instead of a document body.
 *
 * Cosmos DB identifies a document by its partition key value and its id. Hierarchical
 * partition keys are arrays of values, one per level.
 */
export type PartitionKeyScalar = string | number | boolean | null;
export type PartitionKeyValue = PartitionKeyScalar | PartitionKeyScalar[];

export interface DocKey {
  readonly id: string;
  readonly pk: PartitionKeyValue;
}

/**
 * The queue member for a key. JSON of `[id, pk]` is unambiguous for every partition key type
 * and stable for equal keys, which is what deduplication in Redis needs.
 */
export function encodeKey(key: DocKey): string {
  return JSON.stringify([key.id, key.pk]);
}

export function decodeKey(member: string): DocKey {
  const parsed: unknown = JSON.parse(member);
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string") {
    throw new TypeError(`not an encoded document key: ${member.slice(0, 80)}`);
  }
  return { id: parsed[0], pk: parsed[1] as PartitionKeyValue };
}

/** Reads the partition key value of a document by a path such as `/tenant` or `/a/b`. */
export function partitionKeyOf(doc: Record<string, unknown>, paths: readonly string[]): PartitionKeyValue {
  const values = paths.map((path) => valueAtPath(doc, path));
  return paths.length === 1 ? values[0]! : values;
}

function valueAtPath(doc: Record<string, unknown>, path: string): PartitionKeyScalar {
  let current: unknown = doc;
  for (const segment of path.split("/").filter(Boolean)) {
    if (current === null || typeof current !== "object") return null;
    current = (current as Record<string, unknown>)[segment];
  }
  // Cosmos treats a missing partition key property as the "none" value; null is how we carry it.
  if (current === undefined) return null;
  if (current === null || ["string", "number", "boolean"].includes(typeof current)) {
    return current as PartitionKeyScalar;
  }
  throw new TypeError(`partition key at ${path} is not a string, number, boolean or null`);
}
