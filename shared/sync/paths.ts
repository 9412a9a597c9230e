/**
 * Dotted field paths (`customer.address.city`) over plain JSON objects, for a source's include,
 * exclude and rename. A path goes through objects only: an array on the way (or any other value)
 * ends it, so `lines.price` does not reach into a list of lines. A top-level name is a path of one
 * part, which keeps the configurations written before paths existed working as they did.
 *
 * Changes copy the objects along the path instead of editing them: the document may be an object a
 * transform module keeps and returns again, and the sink caches each indexed object's JSON
 * (shared/elastic/serialize.ts), so an object, once mapped, must not change.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

export function splitPath(path: string): readonly string[] {
  return path.split(".");
}

/** Whether the path leads to a field (which may hold `undefined` or `null`). */
export function hasPath(document: Json, path: readonly string[]): boolean {
  let current: unknown = document;
  for (const part of path) {
    if (!isObject(current) || !Object.hasOwn(current, part)) return false;
    current = current[part];
  }
  return true;
}

export function getPath(document: Json, path: readonly string[]): unknown {
  let current: unknown = document;
  for (const part of path) {
    if (!isObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** The document without the field at the path; the same object when there is none. */
export function withoutPath(document: Json, path: readonly string[]): Json {
  if (!hasPath(document, path)) return document;
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) return withoutFields(document, new Set([head]));
  return { ...document, [head]: withoutPath(document[head] as Json, rest) };
}

/**
 * A copy of the document without the named top-level fields, in one pass, field order kept.
 * Not a spread and `delete`: each deleted field turns V8's object into a slow dictionary, which
 * every later copy and JSON.stringify then walk several times more slowly (the sync's mapping of
 * a document cost about four times its serialization, bench/README.md). Always a new object.
 */
export function withoutFields(document: Json, names: ReadonlySet<string>): Json {
  const copy: Json = {};
  for (const name of Object.keys(document)) {
    if (names.has(name)) continue;
    // A JSON document may have an own "__proto__" field; assigning it would set the prototype instead.
    if (name === "__proto__")
      Object.defineProperty(copy, name, {
        value: document[name],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[name] = document[name];
  }
  return copy;
}

/** The document with `value` at the path; objects missing on the way (or values that are not objects) become objects. */
export function withPath(document: Json, path: readonly string[], value: unknown): Json {
  const [head, ...rest] = path as [string, ...string[]];
  const inner = document[head];
  return { ...document, [head]: rest.length === 0 ? value : withPath(isObject(inner) ? inner : {}, rest, value) };
}

/** Only the fields at the given paths (a path to an object keeps the whole object), in a new object. */
export function pick(document: Json, paths: readonly (readonly string[])[]): Json {
  let out: Json = {};
  for (const path of paths) {
    if (hasPath(document, path)) out = withPath(out, path, getPath(document, path));
  }
  return out;
}
