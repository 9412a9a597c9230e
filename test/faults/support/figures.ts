import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { FigureRecord, FigureValue } from "../../../scripts/figures/render.js";

/** Where each fault test leaves the figures it asserted (gitignored; `make figures` reads them). */
export const FIGURES_DIR = fileURLToPath(new URL("../.figures/", import.meta.url));

/**
 * Records a scenario's figures for docs/guarantees-figures.md. Call it after the assertions: a
 * run whose checks failed leaves no figures behind, so the document only quotes what a test
 * asserted. `line` is what the test printed (before its assertions, so a failing run shows it too).
 */
export async function recordFigures(
  test: string,
  scenario: string,
  line: string,
  figures: Record<string, FigureValue>,
): Promise<void> {
  const record: FigureRecord = {
    test,
    scenario,
    line,
    figures,
    recordedAt: new Date().toISOString(),
    cores: cpus().length,
  };
  await mkdir(FIGURES_DIR, { recursive: true });
  await writeFile(`${FIGURES_DIR}${test}--${slug(scenario)}.json`, `${JSON.stringify(record, null, 2)}\n`);
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
