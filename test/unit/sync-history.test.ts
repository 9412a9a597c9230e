import { describe, expect, it } from "vitest";
import { encodeKey } from "../../shared/core/keys.js";
import type { SyncEventGroup, WriteEventsResult } from "../../shared/elastic/sync-events.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { createSyncHistory, type SyncHistory, type SyncHistoryStore } from "../../shared/history/sync-history.js";
import { silentLogger } from "../../shared/telemetry/logger.js";

/**
 * The recorder's own rules (buffered background writes, one at a time, a bounded buffer,
 * failures counted, the template retried later), over an in-memory store whose writes the test releases by hand. What
 * Elasticsearch does with the events is tested against the real one (telemetry.test.ts).
 */
function heldStore() {
  const written: SyncEventGroup[][] = [];
  const waiting: (() => void)[] = [];
  let ensureCalls = 0;
  let ensureFails = false;
  const store: SyncHistoryStore = {
    async ensure() {
      ensureCalls++;
      if (ensureFails) throw new Error("template refused");
    },
    write(events) {
      return new Promise<WriteEventsResult>((resolve) => {
        waiting.push(() => {
          written.push([...events]);
          resolve({ failedGroups: [] });
        });
      });
    },
    count: async () => ({ total: {}, byAction: { index: {}, delete: {} } }),
    timeline: async () => [],
  };
  return {
    store,
    written,
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
    waiting: () => waiting.length,
    ensureCalls: () => ensureCalls,
    failEnsure: (fails: boolean) => {
      ensureFails = fails;
    },
  };
}

const op = (id: string, action: "index" | "delete" = "index"): SinkOp =>
  action === "index"
    ? { action, id, member: encodeKey({ id, pk: ["t", 1] }), version: 7, document: {} }
    : { action, id, member: encodeKey({ id, pk: ["t", 1] }), version: 7 };
const tick = () => new Promise((resolve) => setImmediate(resolve));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Flushes while releasing every write the flush starts. */
async function flushReleasing(history: SyncHistory, held: ReturnType<typeof heldStore>) {
  let done = false;
  const flushed = history.flush().then(() => (done = true));
  while (!done) {
    await tick();
    held.release();
  }
  await flushed;
}

describe("sync history recorder", () => {
  it("returns at once and writes the batches of an interval in the background, as one write", async () => {
    const held = heldStore();
    const history = createSyncHistory({
      store: held.store,
      clock: { now: () => 1_000 },
      logger: silentLogger,
      flushIntervalMs: 30,
    });
    history.record("orders", [op("a"), op("b", "delete"), op("c")], 1_700_000_000_000);
    history.record("users", [op("d")], 1_700_000_000_500);
    await tick();
    expect(held.waiting()).toBe(0); // buffered: record() neither wrote nor waited
    await eventually(() => expect(held.waiting()).toBe(1)); // the interval's one write
    held.release();
    await history.flush();
    expect(held.written).toEqual([
      [
        { source: "orders", action: "index", ids: ["a", "c"], at: 1_700_000_000_000 },
        { source: "orders", action: "delete", ids: ["b"], at: 1_700_000_000_000 },
        { source: "users", action: "index", ids: ["d"], at: 1_700_000_000_500 },
      ],
    ]);
    expect(history.totals).toEqual({ written: 4, failed: 0, dropped: 0 });
  });

  it("writes at once past flushChanges, one write at a time, the next with what came meanwhile", async () => {
    const held = heldStore();
    const history = createSyncHistory({
      store: held.store,
      clock: { now: () => 1_000 },
      logger: silentLogger,
      flushIntervalMs: 60_000,
      flushChanges: 2,
    });
    history.record("orders", [op("a"), op("b")], 1);
    await tick();
    expect(held.waiting()).toBe(1);
    history.record("orders", [op("c"), op("d")], 2);
    history.record("orders", [op("e")], 3);
    await tick();
    expect(held.waiting()).toBe(1); // not a second request while one runs
    held.release();
    await eventually(() => expect(held.waiting()).toBe(1)); // the next starts when the first ends
    held.release();
    await history.flush();
    expect(held.written.map((groups) => groups.flatMap((group) => group.ids))).toEqual([
      ["a", "b"],
      ["c", "d", "e"],
    ]);
    expect(history.totals).toEqual({ written: 5, failed: 0, dropped: 0 });
  });

  it("drops (and counts) a batch's events when the buffer is full, and never throws", async () => {
    const held = heldStore();
    const outcomes: string[] = [];
    const history = createSyncHistory({
      store: held.store,
      clock: { now: () => 1_000 },
      logger: silentLogger,
      flushChanges: 1,
      maxBufferedChanges: 3,
      onEvents: (outcome, source, n) => outcomes.push(`${outcome}:${source}:${n}`),
    });
    history.record("orders", [op("a")], 1); // written at once, and hangs
    await tick();
    history.record("orders", [op("b"), op("c")], 1); // waits: 3 held
    history.record("orders", [op("d"), op("e")], 1); // would make 5: dropped
    expect(history.totals.dropped).toBe(2);
    expect(outcomes).toContain("dropped:orders:2");
    await flushReleasing(history, held);
    expect(history.totals).toEqual({ written: 3, failed: 0, dropped: 2 });
    history.record("orders", [op("f")], 1); // room again
    await flushReleasing(history, held);
    expect(history.totals.written).toBe(4);
  });

  it("counts the changes of failed groups as failed, per source", async () => {
    const outcomes: string[] = [];
    const store: SyncHistoryStore = {
      ensure: async () => {},
      write: async () => ({ failedGroups: [1], firstError: "mapper_parsing_exception" }),
      count: async () => ({ total: {}, byAction: { index: {}, delete: {} } }),
      timeline: async () => [],
    };
    const history = createSyncHistory({
      store,
      clock: { now: () => 1_000 },
      logger: silentLogger,
      onEvents: (outcome, source, n) => outcomes.push(`${outcome}:${source}:${n}`),
    });
    history.record("orders", [op("a"), op("b")], 1);
    history.record("users", [op("c"), op("d"), op("e")], 1);
    await history.flush();
    expect(history.totals).toEqual({ written: 2, failed: 3, dropped: 0 });
    expect(outcomes).toEqual(["written:orders:2", "failed:users:3"]);
  });

  it("counts events as failed while the template cannot be created, and tries it again later", async () => {
    const held = heldStore();
    let now = 0;
    const history = createSyncHistory({
      store: held.store,
      clock: { now: () => now },
      logger: silentLogger,
      ensureRetryMs: 30_000,
    });
    held.failEnsure(true);
    history.record("orders", [op("a")], 1);
    await history.flush();
    expect(history.totals).toEqual({ written: 0, failed: 1, dropped: 0 });
    now = 10_000; // too soon: no second try
    history.record("orders", [op("b")], 1);
    await history.flush();
    expect(held.ensureCalls()).toBe(1);
    expect(history.totals.failed).toBe(2);
    held.failEnsure(false);
    now = 40_000;
    history.record("orders", [op("c")], 1);
    await flushReleasing(history, held);
    expect(held.ensureCalls()).toBe(2);
    expect(history.totals).toEqual({ written: 1, failed: 2, dropped: 0 });
    history.record("orders", [op("d")], 1); // ensured once: not asked again
    await flushReleasing(history, held);
    expect(held.ensureCalls()).toBe(2);
  });

  it("flush gives up after its timeout while a write hangs", async () => {
    const held = heldStore();
    const history = createSyncHistory({ store: held.store, clock: { now: () => Date.now() }, logger: silentLogger });
    history.record("orders", [op("a")], 1);
    const started = Date.now();
    await history.flush(50);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(held.waiting()).toBe(1);
    await flushReleasing(history, held);
    expect(history.totals.written).toBe(1);
  });
});

/** Retries an assertion until it holds (at most 2 s): timers here are real, and short. */
async function eventually(check: () => void): Promise<void> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(5);
    }
  }
}
