/**
 * The JSON of a document to index, computed once per document object. The sync engine sizes bulk
 * requests by it (shared/sync/chunk.ts) and the bulk sink sends it; before, each serialized every
 * document, and serialization is the largest share of the sync's own CPU after parsing reads.
 * Documents are the mapper's fresh objects and are not changed after mapping, so the cached text
 * stays true, and it goes with the document.
 *
 * The text is kept on the document itself, under a symbol and not enumerable, so JSON.stringify,
 * Object.keys and spreads never see it. A WeakMap did the same job, but every entry whose key is
 * still young is an ephemeron that each scavenge must visit: with batches of documents in flight,
 * the worker spent 10–15% more CPU with it (bench/results/history.md).
 */
const JSON_TEXT = Symbol("driftless.json");

type Cached = { [JSON_TEXT]?: string };

/** The document's JSON, or undefined when it cannot be serialized (a BigInt, a cycle): the sink reports why. */
export function serializedDocument(document: object): string | undefined {
  let json = (document as Cached)[JSON_TEXT];
  if (json === undefined) {
    try {
      json = JSON.stringify(document);
    } catch {
      return undefined;
    }
    if (typeof json !== "string") return undefined;
    // A frozen or sealed document (a transform's) is serialized again when asked again.
    if (Object.isExtensible(document)) Object.defineProperty(document, JSON_TEXT, { value: json });
  }
  return json;
}
