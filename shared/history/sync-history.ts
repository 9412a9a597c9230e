import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import { decodeKey } from "../core/keys.js";
import type { SinkOp } from "../sync/ports.js";
import type {
  CountEventsQuery,
  EventCounts,
  SyncEvent,
  TimelineBucket,
  TimelineQuery,
  WriteEventsResult,
} from "../elastic/sync-events.js";
import type { Logger } from "../telemetry/logger.js";
import { HISTORY_WINDOWS } from "./windows.js";

/** Where events live (the events data stream; shared/elastic/sync-events.ts). */
export interface SyncHistoryStore {
  /** Makes sure events can be written (the index template exists). */
  ensure(): Promise<void>;
  /** Never throws: failures come back counted. */
  write(events: readonly SyncEvent[]): Promise<WriteEventsResult>;
  count(query: CountEventsQuery): Promise<EventCounts>;
  timeline(query: TimelineQuery): Promise<TimelineBucket[]>;
}

export interface SyncHistoryOptions {
  readonly store: SyncHistoryStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told how many events were written, failed, or dropped (the metrics). */
  readonly onEvents?: (outcome: "written" | "failed" | "dropped", source: string, n: number) => void;
  /**
   * Event writes in flight at once. Beyond that a batch's events are dropped (and counted), so a
   * slow Elasticsearch never makes the history pile up in memory or hold the sync. @defaultValue 8
   */
  readonly maxPendingWrites?: number;
  /** Wait before trying the template again after it failed; events of batches meanwhile count as failed. @defaultValue 30000 */
  readonly ensureRetryMs?: number;
  /** At most one warning per this long, with the counts since the last one. @defaultValue 60000 */
  readonly warnEveryMs?: number;
}

export interface SyncHistoryTotals {
  written: number;
  failed: number;
  dropped: number;
}

/** Per source and per document id: how many changes were synced in each window. */
export interface SyncHistory {
  /**
   * Records one batch's synced writes. Returns at once: the events are written in the background
   * by one bulk request, and a failure is counted and logged, never raised.
   */
  record(source: string, synced: readonly SinkOp[], at: number): void;
  counts(source: string, id?: string): Promise<EventCounts>;
  /** Changes synced per bucket over the last `minutes`, oldest first (the status page's chart). */
  timeline(source: string, minutes: number): Promise<TimelineBucket[]>;
  /** Resolves once every write started so far has finished (shutdown, tests), or after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  readonly totals: Readonly<SyncHistoryTotals>;
}

export function createSyncHistory(options: SyncHistoryOptions): SyncHistory {
  const {
    store,
    clock,
    logger,
    onEvents,
    maxPendingWrites = 8,
    ensureRetryMs = 30_000,
    warnEveryMs = 60_000,
  } = options;
  const totals: SyncHistoryTotals = { written: 0, failed: 0, dropped: 0 };
  const pending = new Set<Promise<void>>();
  let ensured: Promise<void> | undefined;
  let ensureFailedAt = -Infinity;
  let lastWarnAt = -Infinity;
  let unwarned = { failed: 0, dropped: 0 };

  const tally = (outcome: keyof SyncHistoryTotals, source: string, n: number) => {
    if (n <= 0) return;
    totals[outcome] += n;
    onEvents?.(outcome, source, n);
  };

  const warn = (source: string, reason: string) => {
    const now = clock.now();
    if (now - lastWarnAt < warnEveryMs) return;
    lastWarnAt = now;
    logger.warn(
      { source, ...unwarned, reason: reason.slice(0, 300) },
      "sync events not written; the sync goes on without them",
    );
    unwarned = { failed: 0, dropped: 0 };
  };

  const ready = (): Promise<void> => {
    if (ensured) return ensured;
    if (clock.now() - ensureFailedAt < ensureRetryMs)
      return Promise.reject(new Error("sync events template not ready; will try again"));
    ensured = store.ensure().catch((error: unknown) => {
      ensured = undefined;
      ensureFailedAt = clock.now();
      throw error;
    });
    return ensured;
  };

  const write = async (source: string, events: SyncEvent[]) => {
    try {
      await ready();
      const result = await store.write(events);
      tally("written", source, result.written);
      tally("failed", source, result.failed);
      if (result.failed > 0) {
        unwarned.failed += result.failed;
        warn(source, result.firstError ?? "rejected");
      }
    } catch (error) {
      tally("failed", source, events.length);
      unwarned.failed += events.length;
      warn(source, describeError(error));
    }
  };

  return {
    totals,
    record(source, synced, at) {
      if (synced.length === 0) return;
      if (pending.size >= maxPendingWrites) {
        tally("dropped", source, synced.length);
        unwarned.dropped += synced.length;
        warn(source, `${pending.size} event writes already in flight`);
        return;
      }
      const events = synced.map((op) => toEvent(source, op, at));
      const running = write(source, events).finally(() => pending.delete(running));
      pending.add(running);
    },
    counts: (source, id) =>
      store.count({ source, ...(id === undefined ? {} : { id }), now: clock.now(), windows: HISTORY_WINDOWS }),
    // About 30 to 60 buckets whatever the span, each a whole number of minutes.
    timeline: (source, minutes) =>
      store.timeline({
        source,
        now: clock.now(),
        spanMs: minutes * 60_000,
        bucketMs: Math.max(1, Math.round(minutes / 30)) * 60_000,
      }),
    async flush(timeoutMs = Infinity) {
      const deadline = clock.now() + timeoutMs;
      while (pending.size > 0 && clock.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        const left = deadline - clock.now();
        const timeout = Number.isFinite(left)
          ? new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))
          : undefined;
        await Promise.race([Promise.all([...pending]), ...(timeout ? [timeout] : [])]);
        clearTimeout(timer);
      }
    },
  };
}

function toEvent(source: string, op: SinkOp, at: number): SyncEvent {
  const key = decodeKey(op.member);
  return { source, id: key.id, pk: JSON.stringify(key.pk), docId: op.id, action: op.action, version: op.version, at };
}
