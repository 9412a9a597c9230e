import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import { decodeKey } from "../core/keys.js";
import type { SinkOp } from "../sync/ports.js";
import type {
  CountEventsQuery,
  EventCounts,
  SyncEventGroup,
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
  /** Never throws: failures come back as the groups that failed. */
  write(groups: readonly SyncEventGroup[]): Promise<WriteEventsResult>;
  count(query: CountEventsQuery): Promise<EventCounts>;
  timeline(query: TimelineQuery): Promise<TimelineBucket[]>;
}

export interface SyncHistoryOptions {
  readonly store: SyncHistoryStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told how many events (changes) were written, failed, or dropped (the metrics). */
  readonly onEvents?: (outcome: "written" | "failed" | "dropped", source: string, n: number) => void;
  /**
   * Changes held for writing at most. Beyond that a batch's events are dropped (and counted), so
   * an Elasticsearch that is down or slow never makes the history grow in memory or hold the sync.
   * @defaultValue 100000
   */
  readonly maxBufferedChanges?: number;
  /** The longest a batch's events wait before they are written. @defaultValue 1000 */
  readonly flushIntervalMs?: number;
  /** Changes that make a write start at once instead of at the interval. @defaultValue 5000 */
  readonly flushChanges?: number;
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
   * Records one batch's synced writes. Returns at once and never throws: the events wait in a
   * bounded buffer, and one bulk request at a time writes every batch buffered since the last
   * (at `flushIntervalMs`, or sooner past `flushChanges`). A failure is counted and logged.
   */
  record(source: string, synced: readonly SinkOp[], at: number): void;
  counts(source: string, id?: string): Promise<EventCounts>;
  /** Changes synced per bucket over the last `minutes`, oldest first (the status page's chart). */
  timeline(source: string, minutes: number): Promise<TimelineBucket[]>;
  /** Writes what is buffered now and resolves once every write so far has finished (shutdown, tests), or after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  readonly totals: Readonly<SyncHistoryTotals>;
}

export function createSyncHistory(options: SyncHistoryOptions): SyncHistory {
  const {
    store,
    clock,
    logger,
    onEvents,
    maxBufferedChanges = 100_000,
    flushIntervalMs = 1000,
    flushChanges = 5000,
    ensureRetryMs = 30_000,
    warnEveryMs = 60_000,
  } = options;
  const totals: SyncHistoryTotals = { written: 0, failed: 0, dropped: 0 };
  let buffer: SyncEventGroup[] = [];
  /** Changes in the buffer, and in the write in flight: together what maxBufferedChanges bounds. */
  let buffered = 0;
  let writingChanges = 0;
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
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

  const fail = (groups: readonly SyncEventGroup[], reason: string) => {
    for (const group of groups) {
      tally("failed", group.source, group.ids.length);
      unwarned.failed += group.ids.length;
    }
    if (groups[0]) warn(groups[0].source, reason);
  };

  const write = async (groups: SyncEventGroup[]) => {
    try {
      await ready();
      const result = await store.write(groups);
      const failed = new Set(result.failedGroups);
      groups.forEach((group, g) => {
        if (!failed.has(g)) tally("written", group.source, group.ids.length);
      });
      fail(
        groups.filter((_, g) => failed.has(g)),
        result.firstError ?? "rejected",
      );
    } catch (error) {
      fail(groups, describeError(error));
    }
  };

  /** Starts a write of the whole buffer unless one is running; the one running starts the next when it ends. */
  const drain = () => {
    clearTimeout(timer);
    timer = undefined;
    if (writing || buffer.length === 0) return;
    const groups = buffer;
    buffer = [];
    writingChanges = buffered;
    buffered = 0;
    writing = write(groups).finally(() => {
      writingChanges = 0;
      writing = undefined;
      if (buffer.length > 0) schedule();
    });
  };

  /** While a write runs, its end schedules the next: one request at a time. */
  const schedule = () => {
    if (writing) return;
    if (buffered >= flushChanges) drain();
    else if (!timer) {
      timer = setTimeout(drain, flushIntervalMs);
      timer.unref?.(); // a pending flush must not keep a process alive; shutdown flushes
    }
  };

  return {
    totals,
    record(source, synced, at) {
      if (synced.length === 0) return;
      if (buffered + writingChanges + synced.length > maxBufferedChanges) {
        tally("dropped", source, synced.length);
        unwarned.dropped += synced.length;
        warn(source, `${buffered + writingChanges} changes already waiting to be written`);
        return;
      }
      const index: string[] = [];
      const deleted: string[] = [];
      for (const op of synced) (op.action === "index" ? index : deleted).push(decodeKey(op.member).id);
      if (index.length > 0) buffer.push({ source, action: "index", ids: index, at });
      if (deleted.length > 0) buffer.push({ source, action: "delete", ids: deleted, at });
      buffered += synced.length;
      schedule();
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
      while ((writing || buffer.length > 0) && clock.now() < deadline) {
        drain();
        let wait: NodeJS.Timeout | undefined;
        const left = deadline - clock.now();
        const timeout = Number.isFinite(left)
          ? new Promise<void>((resolve) => (wait = setTimeout(resolve, left)))
          : undefined;
        await Promise.race([writing, ...(timeout ? [timeout] : [])]);
        clearTimeout(wait);
      }
    },
  };
}
