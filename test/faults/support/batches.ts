import { drain } from "../../../shared/sync/drain.js";
import type { BatchReport } from "../../../shared/sync/report.js";
import type { SyncDeps } from "../../../shared/sync/types.js";

/**
 * Drains a source's queue in this process through its production sync deps, one batch at a time,
 * keeping each batch's report. `partly`: the batches that wrote some keys and released others (a
 * dependency that served part of a batch).
 */
export async function drainReporting(sync: SyncDeps, budgetMs = 120_000) {
  const reports: BatchReport[] = [];
  const deps: SyncDeps = {
    ...sync,
    onBatch: (batch) => {
      reports.push(batch.report);
      sync.onBatch?.(batch);
    },
  };
  const report = await drain(deps, { budgetMs, concurrency: 1, idlePollMs: 20, untilIdle: true });
  return {
    report,
    reports,
    partly: reports.filter((batch) => batch.indexed > 0 && batch.released > 0),
    pauses: pauseReasons(reports),
  };
}

/**
 * The batches' pause reasons, counted: "3 × elasticsearch throttled: …". Printed beside a fault
 * test's figures, so a run that did not converge says what kept the sync waiting.
 */
function pauseReasons(reports: readonly BatchReport[]): string {
  const counts = new Map<string, number>();
  for (const { pause } of reports) {
    if (!pause) continue;
    // Counts differ from batch to batch ("shed 255 of 300 writes"); the reason is the rest.
    const reason = `${pause.dependency} ${pause.kind}: ${pause.message.replace(/\d+/g, "N").slice(0, 200)}`;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([reason, n]) => `${n} × ${reason}`)
    .join("; ");
}
