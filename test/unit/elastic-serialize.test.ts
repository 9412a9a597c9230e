import { describe, expect, it } from "vitest";
import { serializedDocument } from "../../shared/elastic/serialize.js";
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
