import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendHistory,
  HISTORY_END,
  historyRow,
  latestMarkdown,
  type HistoryEntry,
} from "../../bench/results-files.js";
import { atLeast, atMost } from "../../bench/report.js";

const repoRoot = join(import.meta.dirname, "..", "..");
const entry: HistoryEntry = {
  at: "2026-12-05T10:00:00.000Z",
  size: "QUICK",
  pipelineToCeiling: "0.95 (0.90–1.02)",
  pipelineToHelpersBulk: "1.10 (1.00–1.20)",
  pipelineToPerDoc: "21.0",
  reimportToCeiling: "0.85 (0.80–0.90)",
  historyOnToOff: "0.90 (0.85–0.95)",
  httpSingle: "15,000, 12 ms",
  httpBatchedKeysPerSec: "220,000",
  freshnessP99: "1,550 ms",
  reimportPeakRss: "",
  workerCpuPer1k: "80 ms",
  hostProbeMedian: "23 ms",
  wallTime: "2m50s",
};

describe("bench results files", () => {
  it("writes latest.md as a Markdown table with each target and whether it was met", () => {
    const md = latestMarkdown({ at: "2026-12-05T10:00:00.000Z", size: "full", host: "2 cores" }, [
      ["pipeline ÷ lower ceiling", "0.95", atLeast(0.95, 0.9)],
      ["", "", undefined],
      ["HTTP p50 / p90 / p99 (ms)", "3 / 6 / 30", atMost(30, 25)],
      ["queue enqueue (keys/s)", "160,000", undefined],
    ]);
    const rows = md.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| ---"));
    expect(rows).toEqual([
      "| Measure | Value | Target | |",
      "| pipeline ÷ lower ceiling | 0.95 | >= 0.9 | met |",
      "| HTTP p50 / p90 / p99 (ms) | 3 / 6 / 30 | <= 25 | **missed** |",
      "| queue enqueue (keys/s) | 160,000 |  |  |",
    ]);
    expect(md).toContain("(full) at 2026-12-05T10:00:00.000Z");
  });

  it("adds a run as the last row of the history's runs table, keeping everything after it", () => {
    const history = [
      "# h",
      "",
      "| a | b |",
      "| --- | --- |",
      "| 1 | 2 |",
      HISTORY_END,
      "",
      "## Tried",
      "text",
      "",
    ].join("\n");
    const row = historyRow(entry);
    const next = appendHistory(history, row).split("\n");
    expect(next.slice(4, 7)).toEqual(["| 1 | 2 |", row, HISTORY_END]);
    expect(next.slice(7)).toEqual(["", "## Tried", "text", ""]);
    expect(row).toContain("| – |"); // an empty figure reads as not recorded
    expect(() => appendHistory("# no marker\n", row)).toThrow(/history:end/);
  });

  it("writes rows with as many columns as the committed history.md's runs table", () => {
    const history = readFileSync(join(repoRoot, "bench/results/history.md"), "utf8");
    expect(history).toContain(HISTORY_END);
    const table = history
      .slice(0, history.indexOf(HISTORY_END))
      .split("\n")
      .filter((line) => line.startsWith("|"));
    const columns = (line: string) => line.replaceAll("\\|", "").split("|").length - 2;
    expect(table.length).toBeGreaterThan(2);
    for (const line of table) expect(columns(line), line).toBe(columns(historyRow(entry)));
  });
});
