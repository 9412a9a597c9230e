import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = join(import.meta.dirname, "..", "..");

/** The folders the README's "Folder map" code block lists, as paths: two spaces of indent per level. */
function foldersInMap(readme: string): string[] {
  const section = readme.split(/^## /m).find((part) => part.startsWith("Folder map\n"));
  if (!section) throw new Error('README.md has no "## Folder map" section');
  const block = /```\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!block) throw new Error("the folder map has no code block");
  const stack: string[] = [];
  const folders: string[] = [];
  for (const line of block.split("\n")) {
    const match = /^( *)([^\s/]+)\/(\s|$)/.exec(line);
    if (!match) throw new Error(`not a folder line in the map: ${JSON.stringify(line)}`);
    const depth = match[1]!.length / 2;
    if (!Number.isInteger(depth) || depth > stack.length)
      throw new Error(`bad indent in the map: ${JSON.stringify(line)}`);
    stack.length = depth;
    stack.push(match[2]!);
    folders.push(stack.join("/"));
  }
  return folders;
}

/** Every folder holding a file git tracks or would track (ignored build output, dependencies and local state left out). */
function foldersInTree(): string[] {
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer: 16 << 20,
  })
    .split("\n")
    .filter(Boolean);
  const folders = new Set<string>();
  for (const file of files) {
    for (let dir = dirname(file); dir !== "."; dir = dirname(dir)) folders.add(dir);
  }
  return [...folders].sort();
}

describe("the README's folder map", () => {
  it("reads nested folders from the indentation", () => {
    expect(foldersInMap("# x\n\n## Folder map\n\n```\na/   one\n  b/ two\n    c/\n  d/\ne/\n```\n\n## Next\n")).toEqual(
      ["a", "a/b", "a/b/c", "a/d", "e"],
    );
    expect(() => foldersInMap("## Folder map\n\n```\na/\n      b/\n```\n")).toThrow(/bad indent/);
  });

  it("lists every folder of the tree, and only folders that exist", () => {
    const map = foldersInMap(readFileSync(join(repoRoot, "README.md"), "utf8"));
    const tree = foldersInTree();
    expect(
      tree.filter((folder) => !map.includes(folder)),
      "folders missing from the map",
    ).toEqual([]);
    expect(
      map.filter((folder) => !tree.includes(folder)),
      "folders in the map that the tree does not have",
    ).toEqual([]);
    expect(new Set(map).size).toBe(map.length);
  });
});
