import { describe, expect, it } from "vitest";
import type { SinkOp } from "../../shared/sync/ports.js";
import { planChunks } from "../../shared/sync/bisect.js";

const op = (id: string): SinkOp => ({ action: "delete", member: id, id, version: 1 });
const ids = (chunks: ReturnType<typeof planChunks>) => chunks.map((chunk) => chunk.map((o) => o.id));

describe("planChunks", () => {
  it("sends keys that never timed out first, as usual; then the others apart, at most their cap a request, the smallest caps last", () => {
    const ops = ["a", "b", "c", "d", "e", "f", "g"].map(op);
    const records = new Map([
      ["b", { cap: 1, solo: 1, at: 0 }],
      ["c", { cap: 2, solo: 0, at: 0 }],
      ["d", { cap: 2, solo: 0, at: 0 }],
      ["e", { cap: 2, solo: 0, at: 0 }],
    ]);
    expect(ids(planChunks(ops, records, 5_000_000))).toEqual([["a", "f", "g"], ["c", "d"], ["e"], ["b"]]);
  });

  it("keeps the byte limit for every request", () => {
    const ops = ["a", "b", "c"].map(op);
    expect(ids(planChunks(ops, new Map([["c", { cap: 5, solo: 0, at: 0 }]]), 1))).toEqual([["a"], ["b"], ["c"]]);
  });
});
