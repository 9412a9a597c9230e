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
