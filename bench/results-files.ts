/**
 * The committed results of a run: bench/results/latest.md (the table of the latest run) and a row
 * added to bench/results/history.md. Figures live in these files, never in the README or in code
 * comments, so a run that falls within its known range changes two files and nothing else.
 */
import type { Target } from "./report.js";

export type Row = readonly [name: string, value: string, target: Target | undefined];

/** What one row of the history holds: the run and its headline figures, already formatted. */
export interface HistoryEntry {
  readonly at: string;
  readonly size: "QUICK" | "full";
  readonly pipelineToCeiling: string;
  readonly pipelineToHelpersBulk: string;
  readonly pipelineToPerDoc: string;
  readonly reimportToCeiling: string;
  readonly historyOnToOff: string;
  readonly httpSingle: string;
  readonly httpBatchedKeysPerSec: string;
  readonly freshnessP99: string;
  readonly reimportPeakRss: string;
  readonly workerCpuPer1k: string;
  readonly hostProbeMedian: string;
  readonly wallTime: string;
}

/** The line before which history.md takes new rows: the end of its runs table. */
export const HISTORY_END = "<!-- bench:history:end -->";

const cell = (text: string) => (text === "" ? "–" : text.replaceAll("|", "\\|"));
const met = (target: Target | undefined) =>
  !target ? "" : target.met === null ? "–" : target.met ? "met" : "**missed**";

/** latest.md: the run's table as Markdown, the measure, its value, its target and whether it was met. */
export function latestMarkdown(
  run: { at: string; size: "QUICK" | "full"; host: string },
  rows: readonly Row[],
): string {
  const lines = [
    "# Benchmark: the latest results",
    "",
    `Written by \`make bench\` (${run.size}) at ${run.at}. Host: ${run.host}. How to read it:`,
    "[../README.md](../README.md); earlier runs: [history.md](history.md).",
    "",
    "| Measure | Value | Target | |",
    "| --- | --- | --- | --- |",
    ...rows
      .filter(([name]) => name !== "")
      .map(
        ([name, value, target]) =>
          `| ${cell(name)} | ${cell(value)} | ${target ? cell(target.target) : ""} | ${met(target)} |`,
      ),
  ];
  return `${lines.join("\n")}\n`;
}

/** One row of history.md's runs table, in its column order. */
export function historyRow(entry: HistoryEntry): string {
  const cells = [
    entry.at,
    entry.size,
    entry.pipelineToCeiling,
    entry.pipelineToHelpersBulk,
    entry.pipelineToPerDoc,
    entry.reimportToCeiling,
    entry.historyOnToOff,
    entry.httpSingle,
    entry.httpBatchedKeysPerSec,
    entry.freshnessP99,
    entry.reimportPeakRss,
    entry.workerCpuPer1k,
    entry.hostProbeMedian,
    entry.wallTime,
  ];
  return `| ${cells.map(cell).join(" | ")} |`;
}

/** history.md with the row added at the end of its runs table; the file must carry the end marker. */
export function appendHistory(history: string, row: string): string {
  const at = history.indexOf(HISTORY_END);
  if (at < 0) throw new Error(`bench/results/history.md has no ${HISTORY_END} line to add the run before`);
  return `${history.slice(0, at)}${row}\n${history.slice(at)}`;
}
