import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderFigures, type FigureRecord } from "./figures/render.js";

/**
 * `make figures` runs the fault tests, then this: docs/guarantees-figures.md from the figures
 * they recorded in test/faults/.figures/. Exits 1 when nothing was recorded (the tests failed or
 * did not run), leaving the document as it was.
 */
const root = join(import.meta.dirname, "..");
const dir = join(root, "test/faults/.figures");
const files = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
if (files.length === 0) {
  process.stderr.write(`figures: nothing recorded in ${dir}; run the fault tests first (make figures)\n`);
  process.exit(1);
}
const records = await Promise.all(
  files.map(async (name) => JSON.parse(await readFile(join(dir, name), "utf8")) as FigureRecord),
);
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
const target = join(root, "docs/guarantees-figures.md");
await mkdir(join(root, "docs"), { recursive: true });
await writeFile(target, renderFigures(records, commit));
process.stdout.write(
  `figures: ${records.length} scenarios from ${files.length} files written to docs/guarantees-figures.md\n`,
);
