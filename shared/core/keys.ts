/**
 * A document key: what the queue carries instead of a document body.
 *
 * Cosmos DB identifies a document by its partition key value and its id. Hierarchical
 * partition keys are arrays of values, one per level.
 */
/**
 * Cosmos DB's "None" partition key value: a document without its partition key property lives in
 * a logical partition of its own, apart from one whose property is `null`, and only a read with
 * the None value finds it (the SDK's `PartitionKeyBuilder().addNoneValue()`, sent as `[{}]`). We
 * carry it as the same empty object, so `["id",{}]` and `["id",null]` are different queue members.
 */
export type NonePartitionKey = Readonly<Record<string, never>>;
export const NONE_PARTITION_KEY: NonePartitionKey = Object.freeze({});
export type PartitionKeyScalar = string | number | boolean | null | NonePartitionKey;
export type PartitionKeyValue = PartitionKeyScalar | PartitionKeyScalar[];

export function isNonePartitionKey(value: unknown): value is NonePartitionKey {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
}

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
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" || !isPartitionKeyValue(parsed[1])) {
    throw new TypeError(`not an encoded document key: ${member.slice(0, 80)}`);
  }
  return { id: parsed[0], pk: parsed[1] };
}

function isPartitionKeyScalar(value: unknown): value is PartitionKeyScalar {
  return value === null || ["string", "number", "boolean"].includes(typeof value) || isNonePartitionKey(value);
}

function isPartitionKeyValue(value: unknown): value is PartitionKeyValue {
  return isPartitionKeyScalar(value) || (Array.isArray(value) && value.length > 0 && value.every(isPartitionKeyScalar));
}

/** A partition key that cannot be a Cosmos key: an object or array where a value belongs. */
export class PartitionKeyError extends TypeError {
  constructor(path: string) {
    super(`partition key at ${path} is not a string, number, boolean or null`);
    this.name = "PartitionKeyError";
  }
}

/** Reads the partition key value of a document by a path such as `/tenant` or `/a/b`; a missing property is the None value. */
export function partitionKeyOf(doc: Record<string, unknown>, paths: readonly string[]): PartitionKeyValue {
  const values = paths.map((path) => valueAtPath(doc, path));
  return paths.length === 1 ? values[0]! : values;
}

function valueAtPath(doc: Record<string, unknown>, path: string): PartitionKeyScalar {
  let current: unknown = doc;
  for (const segment of path.split("/").filter(Boolean)) {
    if (current === null || typeof current !== "object") return NONE_PARTITION_KEY;
    current = (current as Record<string, unknown>)[segment];
  }
  // Cosmos keeps a document without the property in the None partition, not in the null one.
  if (current === undefined) return NONE_PARTITION_KEY;
  if (current === null || ["string", "number", "boolean"].includes(typeof current)) {
    return current as PartitionKeyScalar;
  }
  throw new PartitionKeyError(path);
}
