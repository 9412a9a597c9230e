import { serializedDocument } from "../elastic/serialize.js";
import type { SinkOp } from "./ports.js";

/**
 * Splits writes so no bulk body exceeds `maxBytes`. The size is estimated from the document's
 * JSON length plus the action line; a single document larger than the limit still goes alone
 * (Elasticsearch then judges it, and a too-large document becomes a dead letter with its reason).
 */
export function* chunkByBytes(ops: readonly SinkOp[], maxBytes: number): Generator<SinkOp[]> {
  let chunk: SinkOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = estimateBytes(op);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(op);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

const ACTION_LINE_BYTES = 120;

/** The bytes `op` adds to a bulk body, estimated (also the bulk span's `driftless.bulk.bytes`). */
export function estimateBytes(op: SinkOp): number {
  // The sink sends this same text (serializedDocument caches it), so sizing costs no second serialization.
  return (
    ACTION_LINE_BYTES + op.id.length + (op.action === "index" ? (serializedDocument(op.document)?.length ?? 0) : 0)
  );
}
