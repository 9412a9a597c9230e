import { drain } from "../../shared/sync/drain.js";
import type { SyncDeps } from "../../shared/sync/types.js";
import { eventually } from "./fixtures.js";

/** Drains the source (one batch at a time) until `done` passes, then stops the drain and waits for it. */
export async function syncUntil(sync: SyncDeps, done: () => Promise<unknown>): Promise<void> {
  const stop = new AbortController();
  const running = drain(sync, { budgetMs: 60_000, concurrency: 1, idlePollMs: 50, signal: stop.signal });
  try {
    await eventually(done, { timeoutMs: 30_000, intervalMs: 200 });
  } finally {
    stop.abort();
    await running;
  }
}
