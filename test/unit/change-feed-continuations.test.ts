import { describe, expect, it } from "vitest";
import { isComplete, mergeRangeContinuations } from "../../shared/cosmos/change-feed.js";

/** An SDK composite token for some feed ranges: [min, max, etag] each. */
const token = (rid: string, ...ranges: [string, string, string][]) =>
  JSON.stringify({
    rid,
    Continuation: ranges.map(([minInclusive, maxExclusive, continuationToken]) => ({
      minInclusive,
      maxExclusive,
      continuationToken,
    })),
  });
const entries = (merged: string) =>
  (
    JSON.parse(merged) as { Continuation: { minInclusive: string; maxExclusive: string; continuationToken: string }[] }
  ).Continuation.map((e) => [e.minInclusive, e.maxExclusive, e.continuationToken]);

describe("mergeRangeContinuations (per-range checkpoints of earlier versions)", () => {
  it("joins the ranges of one container into one token", () => {
    const merged = mergeRangeContinuations(
      [token("R", ["80", "FF", '"9"']), token("R", ["", "80", '"7"'])],
      "latestVersion",
    );
    expect(merged).toMatchObject({ ranges: 2, uncovered: 0 });
    expect(JSON.parse(merged.continuation).rid).toBe("R");
    expect(entries(merged.continuation)).toEqual([
      ["", "80", '"7"'],
      ["80", "FF", '"9"'],
    ]);
  });

  it("keeps a split parent's position over its children's, which may have started later", () => {
    // What the per-range reader left after a split: the parent's checkpoint, and the children's from "now".
    const merged = mergeRangeContinuations(
      [
        token("R", ["", "80", '"5"']),
        token("R", ["", "40", '"30"']),
        token("R", ["40", "80", '"31"']),
        token("R", ["80", "FF", '"29"']),
      ],
      "latestVersion",
    );
    expect(entries(merged.continuation)).toEqual([
      ["", "80", '"5"'],
      ["80", "FF", '"29"'],
    ]);
  });

  it("reads parts no checkpoint covers from the beginning, or in all-versions mode (which cannot) from now", () => {
    expect(entries(mergeRangeContinuations([token("R", ["40", "80", '"5"'])], "latestVersion").continuation)).toEqual([
      ["", "40", ""],
      ["40", "80", '"5"'],
      ["80", "FF", ""],
    ]);
    const avad = mergeRangeContinuations([token("R", ["", "80", '"5"'])], "allVersionsAndDeletes");
    expect(avad.uncovered).toBe(1);
    expect(entries(avad.continuation).at(-1)).toEqual(["80", "FF", "*"]);
  });

  it("refuses tokens of two containers, ranges overlapping without nesting, and what is not a token", () => {
    expect(() =>
      mergeRangeContinuations([token("R", ["", "80", '"5"']), token("S", ["80", "FF", '"5"'])], "latestVersion"),
    ).toThrow(/2 containers/);
    expect(() =>
      mergeRangeContinuations([token("R", ["", "80", '"5"']), token("R", ["40", "FF", '"5"'])], "latestVersion"),
    ).toThrow(/overlap/);
    expect(() => mergeRangeContinuations(["5"], "latestVersion")).toThrow(/cannot be read/);
  });
});

describe("isComplete", () => {
  it("is true once every range has an etag of its own", () => {
    expect(isComplete(token("R", ["", "80", '"5"'], ["80", "FF", '"6"']))).toBe(true);
    expect(isComplete(token("R", ["", "80", '"5"'], ["80", "FF", ""]))).toBe(false);
    expect(isComplete(token("R", ["", "80", "*"]))).toBe(false);
  });
});
