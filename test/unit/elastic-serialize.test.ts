import { describe, expect, it } from "vitest";
import { detachedDocuments, documentText, serializedDocument } from "../../shared/elastic/serialize.js";
import { chunkByBytes } from "../../shared/sync/chunk.js";
import type { SinkOp } from "../../shared/sync/ports.js";

describe("serializedDocument", () => {
  it("is the document's JSON, computed once per document object", () => {
    const document = { title: "lamp", nested: { tags: ["a", "b"] }, n: 1.5 };
    const first = serializedDocument(document);
    expect(first).toBe(JSON.stringify(document));
    expect(serializedDocument(document)).toBe(first);
    expect(serializedDocument({ ...document })).toBe(first);
  });

  it("keeps the text on the document where no serialization, key listing or copy sees it", () => {
    const document: Record<string, unknown> = { title: "lamp", n: 1 };
    const first = serializedDocument(document);
    // Computed once: a later change of the object (which the mapper's documents never have) is not seen.
    document.title = "desk";
    expect(serializedDocument(document)).toBe(first);
    expect(JSON.stringify(document)).toBe('{"title":"desk","n":1}');
    expect(Object.keys(document)).toEqual(["title", "n"]);
    expect(Reflect.ownKeys({ ...document })).toEqual(["title", "n"]);
    expect(serializedDocument({ ...document })).toBe('{"title":"desk","n":1}');
  });

  it("serializes a frozen document each time it is asked, without caching on it", () => {
    const document = Object.freeze({ title: "lamp" });
    expect(serializedDocument(document)).toBe('{"title":"lamp"}');
    expect(serializedDocument(document)).toBe('{"title":"lamp"}');
    expect(Reflect.ownKeys(document)).toEqual(["title"]);
  });

  it("is undefined for what JSON cannot express, instead of throwing", () => {
    expect(serializedDocument({ big: 1n })).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(serializedDocument(cyclic)).toBeUndefined();
  });

  it("sizes byte chunks from the same text the sink sends", () => {
    const op = (n: number): SinkOp => ({
      action: "index",
      member: `m${n}`,
      id: `d${n}`,
      version: 1,
      document: { text: "x".repeat(1000) },
    });
    const chunks = [
      ...chunkByBytes(
        Array.from({ length: 10 }, (_, n) => op(n)),
        3500,
      ),
    ];
    expect(chunks.map((chunk) => chunk.length)).toEqual([3, 3, 3, 1]);
  });
});

describe("detachedDocuments", () => {
  type IndexOp = Extract<SinkOp, { action: "index" }>;
  const index = (id: string, document: Record<string, unknown>): IndexOp => ({
    action: "index",
    member: `m-${id}`,
    id,
    version: 7,
    routing: "r",
    document,
  });

  it("keeps every field of the op and, of the document, its JSON text alone", () => {
    const document = { title: "lamp", nested: { tags: ["a"] } };
    const [detached] = detachedDocuments([index("a", document)]);
    expect(detached).toMatchObject({ action: "index", member: "m-a", id: "a", version: 7, routing: "r" });
    const kept = (detached as IndexOp).document;
    expect(kept).not.toBe(document);
    expect(Reflect.ownKeys(kept).filter((key) => typeof key === "string")).toEqual([]);
    expect(Object.isFrozen(kept)).toBe(true);
    expect(serializedDocument(kept)).toBe(JSON.stringify(document));
    expect(documentText(kept)).toEqual({ json: JSON.stringify(document) });
  });

  it("leaves deletes, and documents the sink would refuse, as they are, so the sink still says why", () => {
    const reserved = index("r", { "driftless.key": "forged" });
    const unserializable = index("b", { big: 1n });
    const array = { ...index("x", {}), document: [1] as unknown as Record<string, unknown> };
    const deleted: SinkOp = { action: "delete", member: "m-d", id: "d", version: 3 };
    const ops = [reserved, unserializable, array, deleted];
    expect(detachedDocuments(ops)).toEqual(ops);
    expect(detachedDocuments(ops).every((op, i) => op === ops[i])).toBe(true);
    expect(documentText(reserved.document)).toEqual({ invalid: expect.stringContaining('"driftless.key"') });
    expect(documentText(unserializable.document)).toEqual({ invalid: expect.stringContaining("BigInt") });
    expect(documentText([1])).toEqual({ invalid: "document is not a JSON object" });
  });
});
