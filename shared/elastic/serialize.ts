/**
 * The JSON of a document to index, computed once per document object. The sync engine sizes bulk
 * requests by it (shared/sync/chunk.ts) and the bulk sink sends it; before, each serialized every
 * document, and serialization is the largest share of the sync's own CPU after parsing reads.
 * Documents are the mapper's fresh objects and are not changed after mapping, so the cached text
 * stays true; a WeakMap lets it go with the document.
 */
const cache = new WeakMap<object, string>();

/** The document's JSON, or undefined when it cannot be serialized (a BigInt, a cycle): the sink reports why. */
export function serializedDocument(document: object): string | undefined {
  let json = cache.get(document);
  if (json === undefined) {
    try {
      json = JSON.stringify(document);
    } catch {
      return undefined;
    }
    if (typeof json !== "string") return undefined;
    cache.set(document, json);
  }
  return json;
}
