import type { SinkOp } from "../sync/ports.js";
import { DRIFTLESS_METADATA, reservedFieldOf } from "./metadata.js";

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

/**
 * The JSON text the sink sends for a document, or why it cannot send it. Every check that the
 * document itself decides is here, so a document reduced to its text (detachedDocuments) has
 * passed them all.
 */
export function documentText(document: unknown): { readonly json: string } | { readonly invalid: string } {
  if (document === null || typeof document !== "object" || Array.isArray(document))
    return { invalid: "document is not a JSON object" };
  // Refused, not dropped: dropping would index a document that silently lacks one of its fields,
  // while a dead letter with this reason shows the owner exactly what to rename or exclude (the
  // source's transform), once, since it would fail the same way again.
  const reserved = reservedFieldOf(document);
  if (reserved !== undefined) {
    return {
      invalid: `document has a field "${reserved}" in the "${DRIFTLESS_METADATA.field}" namespace, which driftless reserves for its metadata: rename or exclude it in the source's transform`,
    };
  }
  const json = serializedDocument(document);
  if (json === undefined) return { invalid: `document cannot be serialized to JSON: ${serializationError(document)}` };
  if (!json.startsWith("{")) return { invalid: "document does not serialize to a JSON object" };
  return { json };
}

function serializationError(document: object): string {
  try {
    JSON.stringify(document);
    return "it serializes to nothing";
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * The ops with each sendable document reduced to its JSON text: an object with no fields of its
 * own that documentText and serializedDocument answer for with that text. A batch keeps its ops
 * until it settles, through its bulk requests, with other batches in flight beside it. As objects,
 * documents with nested fields hold about three times their JSON's size, and every collection of
 * the young generation copies them object by object; as text they are one string each
 * (bench/results/history.md). A document the sink would refuse is left as it is, so the sink
 * still says why.
 */
export function detachedDocuments(ops: readonly SinkOp[]): SinkOp[] {
  return ops.map(detachedDocument);
}

/** One op as detachedDocuments makes it: the sync detaches each document as soon as it is mapped. */
export function detachedDocument(op: SinkOp): SinkOp {
  if (op.action !== "index") return op;
  const text = documentText(op.document);
  return "json" in text ? { ...op, document: textOnly(text.json) } : op;
}

function textOnly(json: string): Record<string, unknown> {
  const holder = {};
  Object.defineProperty(holder, JSON_TEXT, { value: json });
  return Object.freeze(holder);
}
