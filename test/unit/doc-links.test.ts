import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = join(import.meta.dirname, "..", "..");

/** The user documentation: the README, the guides under docs/, the benchmark's method and results. */
function documents(): string[] {
  const inDir = (dir: string) =>
    existsSync(join(repoRoot, dir))
      ? readdirSync(join(repoRoot, dir))
          .filter((name) => name.endsWith(".md"))
          .map((name) => join(dir, name))
      : [];
  return ["README.md", ...inDir("docs"), "bench/README.md", ...inDir("bench/results")];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  return new Set([...withoutFences(markdown).matchAll(/^#{1,6} +(.+)$/gm)].map((m) => slug(m[1]!)));
}

const withoutFences = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, "");
const withoutCode = (markdown: string) => withoutFences(markdown).replace(/`[^`\n]*`/g, "");

/** Relative link targets of a Markdown text: `[text](target)`, outside code. */
function links(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z]+:/i.test(target));
}

/** What is wrong with each relative link of `file`: a missing file, or a missing heading for its anchor. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), "utf8");
  const broken: string[] = [];
  for (const target of links(text)) {
    const [path, anchor] = target.split("#") as [string, string | undefined];
    const resolved = path === "" ? file : relative(repoRoot, join(repoRoot, dirname(file), decodeURIComponent(path)));
    if (!existsSync(join(repoRoot, resolved))) {
      broken.push(`${file}: ${target} (no ${resolved})`);
      continue;
    }
    if (
      anchor &&
      resolved.endsWith(".md") &&
      statSync(join(repoRoot, resolved)).isFile() &&
      !anchors(readFileSync(join(repoRoot, resolved), "utf8")).has(anchor)
    ) {
      broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  return broken;
}

describe("links in the documentation", () => {
  it("finds relative links and anchors outside code", () => {
    const text =
      "# Trying it: `make dev`\n\n## A, b & c\n\nSee [x](docs/a.md#b), [y](https://e.org), [z](#trying-it-make-dev).\n\n```\n[no](in-code.md)\n```\n`[no](inline.md)`\n";
    expect(links(text)).toEqual(["docs/a.md#b", "#trying-it-make-dev"]);
    expect([...anchors(text)]).toEqual(["trying-it-make-dev", "a-b--c"]);
  });

  it("covers the README, every guide and the benchmark's files", () => {
    const files = documents();
    expect(files).toEqual(
      expect.arrayContaining([
        "README.md",
        "docs/api.md",
        "docs/configuration.md",
        "bench/README.md",
        "bench/results/latest.md",
      ]),
    );
  });

  it("points every relative link at a file that exists, and every anchor at a heading of it", () => {
    expect(documents().flatMap(brokenLinks)).toEqual([]);
  });
});
