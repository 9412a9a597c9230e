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
/**
 * The key of a document whose partition key path holds an object or an array: Cosmos cannot read
 * it by such a value, so capture dead-letters it instead of retrying its feed range forever. It is
 * carried as `{"invalid": "<why>"}` (`["id",{"invalid":"partition key at /tenant is an object"}]`),
 * which no real value can be (an object is only ever the None value, `{}`): the dead letter lists,
 * purges and redrives like any other, and the sync dead-letters it again without reading it.
 */
export interface InvalidPartitionKey {
  readonly invalid: string;
}
export type PartitionKeyScalar = string | number | boolean | null | NonePartitionKey | InvalidPartitionKey;
export type PartitionKeyValue = PartitionKeyScalar | PartitionKeyScalar[];

export function isNonePartitionKey(value: unknown): value is NonePartitionKey {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
}

export function isInvalidPartitionKey(value: unknown): value is InvalidPartitionKey {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "invalid" && typeof (value as { invalid: unknown }).invalid === "string";
}

/** The invalid key's reason where `pk` (or one level of it) is one; undefined for a usable key. */
export function invalidKeyReason(pk: PartitionKeyValue): string | undefined {
  const levels = Array.isArray(pk) ? pk : [pk];
  return levels.find(isInvalidPartitionKey)?.invalid;
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
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== "string" ||
    !isPartitionKeyValue(parsed[1])
  ) {
    throw new TypeError(`not an encoded document key: ${member.slice(0, 80)}`);
  }
  return { id: parsed[0], pk: parsed[1] };
}

function isPartitionKeyScalar(value: unknown): value is PartitionKeyScalar {
  return (
    value === null ||
    ["string", "number", "boolean"].includes(typeof value) ||
    isNonePartitionKey(value) ||
    isInvalidPartitionKey(value)
  );
}

function isPartitionKeyValue(value: unknown): value is PartitionKeyValue {
  return isPartitionKeyScalar(value) || (Array.isArray(value) && value.length > 0 && value.every(isPartitionKeyScalar));
}

/** A partition key that cannot be a Cosmos key: an object or array where a value belongs. */
export class PartitionKeyError extends TypeError {
  readonly path: string;

  /** Short, for a dead letter's reason: `partition key at /tenant is an object`. */
  readonly reason: string;

  constructor(path: string, value: object) {
    const reason = `partition key at ${path} is ${Array.isArray(value) ? "an array" : "an object"}`;
    super(`${reason}, not a string, number, boolean or null`);
    this.name = "PartitionKeyError";
    this.path = path;
    this.reason = reason;
  }
}

/** Reads the partition key value of a document by a path such as `/tenant` or `/a/b`; a missing property is the None value. */
export function partitionKeyOf(doc: Record<string, unknown>, paths: readonly string[]): PartitionKeyValue {
  const values = paths.map((path) => valueAtPath(doc, path));
  return paths.length === 1 ? values[0]! : values;
}

/**
 * The partition key of a document, with every level that is an object or an array carried as an
 * InvalidPartitionKey; `invalid` gives the first such level's reason.
 */
export function partitionKeyOrInvalid(
  doc: Record<string, unknown>,
  paths: readonly string[],
): { pk: PartitionKeyValue; invalid?: PartitionKeyError } {
  let invalid: PartitionKeyError | undefined;
  const values = paths.map((path): PartitionKeyScalar => {
    try {
      return valueAtPath(doc, path);
    } catch (error) {
      if (!(error instanceof PartitionKeyError)) throw error;
      invalid ??= error;
      return { invalid: error.reason };
    }
  });
  const pk = paths.length === 1 ? values[0]! : values;
  return invalid ? { pk, invalid } : { pk };
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
  throw new PartitionKeyError(path, current as object);
}
