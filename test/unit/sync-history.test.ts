import { describe, expect, it } from "vitest";
import { encodeKey } from "../../shared/core/keys.js";
import type { SyncEvent, WriteEventsResult } from "../../shared/elastic/sync-events.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { createSyncHistory, type SyncHistoryStore } from "../../shared/history/sync-history.js";
import { silentLogger } from "../../shared/telemetry/logger.js";

/**
 * The recorder's own rules (background writes, back-pressure, failures counted, the template
 * retried later), over an in-memory store whose writes the test releases by hand. What
 * Elasticsearch does with the events is tested against the real one (telemetry.test.ts).
 */
function heldStore() {
  const written: SyncEvent[][] = [];
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
          resolve({ written: events.length, failed: 0 });
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

describe("sync history recorder", () => {
  it("returns at once and writes each batch's events in the background, as one write", async () => {
    const held = heldStore();
    const history = createSyncHistory({ store: held.store, clock: { now: () => 1_000 }, logger: silentLogger });
    history.record("orders", [op("a"), op("b", "delete")], 1_700_000_000_000);
    await tick();
    expect(held.waiting()).toBe(1); // the write is running; record() did not wait for it
    held.release();
    await history.flush();
    expect(held.written).toEqual([
      [
        { source: "orders", id: "a", pk: '["t",1]', docId: "a", action: "index", version: 7, at: 1_700_000_000_000 },
        { source: "orders", id: "b", pk: '["t",1]', docId: "b", action: "delete", version: 7, at: 1_700_000_000_000 },
      ],
    ]);
    expect(history.totals).toEqual({ written: 2, failed: 0, dropped: 0 });
  });

  it("drops (and counts) a batch's events while too many writes are in flight", async () => {
    const held = heldStore();
    const outcomes: string[] = [];
    const history = createSyncHistory({
      store: held.store,
      clock: { now: () => 1_000 },
      logger: silentLogger,
      maxPendingWrites: 2,
      onEvents: (outcome, source, n) => outcomes.push(`${outcome}:${source}:${n}`),
    });
    history.record("orders", [op("a")], 1);
    history.record("orders", [op("b")], 1);
    history.record("orders", [op("c"), op("d")], 1); // a third write would pile up: dropped
    await tick();
    held.release();
    await history.flush();
    expect(history.totals).toEqual({ written: 2, failed: 0, dropped: 2 });
    expect(outcomes).toContain("dropped:orders:2");
    history.record("orders", [op("e")], 1); // room again
    await tick();
    held.release();
    await history.flush();
    expect(history.totals.written).toBe(3);
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
    await tick();
    held.release();
    await history.flush();
    expect(held.ensureCalls()).toBe(2);
    expect(history.totals).toEqual({ written: 1, failed: 2, dropped: 0 });
    history.record("orders", [op("d")], 1); // ensured once: not asked again
    await tick();
    held.release();
    await history.flush();
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
    held.release();
    await history.flush();
  });
});
