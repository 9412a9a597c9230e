import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = join(import.meta.dirname, "..", "..");
const FOLDERS = ["shared", "functions", "cli", "bench", "scripts", "infra"];
const SOURCE = /\.(ts|sh|lua|bicep)$/;

/**
 * A measured figure: a rate, a per-document cost, or a number said to be measured or seen "here".
 * Benchmark figures belong in bench/results/ (the latest table and the history); a comment says
 * why the code is as it is and points there, so it never goes stale with the host's speed.
 */
const FIGURE = new RegExp(
  [
    String.raw`\d[\d,.]*\s?(docs|keys|reads|writes|req|requests)/s(?!\w)`,
    String.raw`\d[\d,.]*\s?µs(?!\w)`,
    String.raw`\d[\d,.]*\s?(ms|s|MB|GB)(?!\w)[^.\n]*\bhere\b`,
    String.raw`\bhere\b[^.\n]*\d[\d,.]*\s?(ms|MB|GB|docs)(?!\w)`,
    String.raw`\b(measured|ran at|peak(ed)?)\b[^.\n]*\d`,
    String.raw`\d[\d,.]*\s?ms of [\w\s]*CPU`,
    String.raw`\d+(\.\d+)?\s?% on average`,
    String.raw`\d\.\d\d\s?/\s?\d\.\d\d\s?/\s?\d\.\d\d`,
  ].join("|"),
  "i",
);

/** The comment text of a line of source: after `//`, or the whole line of a block comment, `#` or `--` comment. */
function commentOf(line: string): string | undefined {
  const trimmed = line.trimStart();
  if (/^(\/\/|\/\*|\*|#(?!!)|--)/.test(trimmed)) return trimmed;
  const trailing = /\s\/\/\s(.*)$/.exec(line);
  return trailing?.[1];
}

function figuresIn(text: string): string[] {
  return text.split("\n").flatMap((line, i) => {
    const comment = commentOf(line);
    return comment !== undefined && FIGURE.test(comment) ? [`${i + 1}: ${comment.trim()}`] : [];
  });
}

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : SOURCE.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

describe("code comments", () => {
  it("tells a measured figure from a reason", () => {
    const text = [
      "// One request in flight was never the best here (8,700–10,300 docs/s against 10,300 for 2)",
      " * CPU per document ranged from 96 to 210 µs over one evening",
      "// a first rebuild ran 3.3–3.7 s here",
      " * Measured against the emulator, point reads run at 900/s.",
      "const x = 1; // peak RSS 331 MB",
      "// compiling its functions: 91-134 ms of worker CPU per 1,000 documents",
      " * pairs, about 7% on average (bench/, SYNC_CONCURRENCY 3).",
      " * pipeline ÷ helpers.bulk 1.17 / 1.02 / 0.88 with 2 / 3 / 4",
      "// Keys claimed per batch: Elasticsearch pays a fixed cost per bulk request (bench/results/history.md).",
      "// Up to 100 reads per request; a batch of 1,000 keys is 10 requests.",
      "const url = `http://localhost:9200/_bulk`; // 5 MB flushes by default",
    ].join("\n");
    expect(figuresIn(text).map((hit) => Number(hit.split(":")[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("hold no benchmark figures: those live in bench/results/", () => {
    const hits = FOLDERS.flatMap(sources).flatMap((file) =>
      figuresIn(readFileSync(join(repoRoot, file), "utf8")).map((hit) => `${file}:${hit}`),
    );
    expect(hits).toEqual([]);
  });
});
