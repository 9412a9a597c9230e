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
  return { report, reports, partly: reports.filter((batch) => batch.indexed > 0 && batch.released > 0) };
}
