import { describe, expect, it } from "vitest";
import { schedulePeriodMs, serviceBusEmulator } from "../../bench/functions-emulation.js";
import type { Ticket } from "../../shared/dispatch/tickets.js";

/**
 * The bench's stand-ins for the Functions host (bench/functions-emulation.ts): what they do
 * decides which topology bench/functions-freshness.ts reports, so their rules are checked here,
 * without the services (nothing here stands in for Redis, Elasticsearch or Cosmos).
 */
describe("the timer schedule's period", () => {
  it("reads every N seconds and every M minutes", () => {
    expect(schedulePeriodMs("*/30 * * * * *")).toBe(30_000);
    expect(schedulePeriodMs(" */5 * * * * * ")).toBe(5000);
    expect(schedulePeriodMs("0 */2 * * * *")).toBe(120_000);
  });

  it("refuses a schedule it would have to guess at, naming it", () => {
    for (const schedule of ["0 0 * * * *", "*/0 * * * * *", "*/5 * * * *", "*/5 1 * * * *", "hourly"])
      expect(() => schedulePeriodMs(schedule), schedule).toThrow(schedule);
  });
});

describe("the emulated Service Bus", () => {
  const until = async (done: () => boolean) => {
    for (let waited = 0; !done(); waited += 5) {
      if (waited > 5000) throw new Error("not delivered within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it("delivers each ticket, as parsed JSON, with no more at once than maxConcurrentCalls", async () => {
    const received: unknown[] = [];
    const release: (() => void)[] = [];
    const bus = serviceBusEmulator({
      latencyMs: 1,
      maxConcurrentCalls: 2,
      maxDeliveryCount: 10,
      deliver: (body) => {
        received.push(body);
        return new Promise<void>((resolve) => release.push(resolve));
      },
      onError: () => undefined,
    });
    const tickets: Ticket[] = ["a", "b", "c", "d", "e"].map((source) => ({ kind: "sync", source }));
    await bus.sender.send(tickets);
    await until(() => received.length === 2);
    // Two run, three wait: none starts until one of the two ends.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toHaveLength(2);
    expect(bus.stats()).toMatchObject({ sent: 5, inFlight: 2 });
    while (received.length < 5 || release.length > 0) {
      await until(() => release.length > 0);
      release.shift()!();
    }
    await until(() => bus.stats().inFlight === 0);
    expect(received).toEqual(tickets);
    expect(received[0]).not.toBe(tickets[0]); // a copy, as off the wire
    expect(bus.stats()).toMatchObject({ sent: 5, invocations: 5, failed: 0, maxInFlight: 2, inFlight: 0 });
  });

  it("redelivers a ticket whose handler threw, up to maxDeliveryCount attempts, then gives it up", async () => {
    const attempts: Record<string, number> = {};
    const errors: number[] = [];
    const bus = serviceBusEmulator({
      latencyMs: 0,
      maxConcurrentCalls: 4,
      maxDeliveryCount: 3,
      deliver: async (body) => {
        const { source } = body as Ticket;
        attempts[source] = (attempts[source] ?? 0) + 1;
        if (source === "never" || attempts[source] === 1) throw new Error(`${source} failed`);
      },
      onError: (_error, _ticket, attempt) => errors.push(attempt),
    });
    await bus.sender.send([
      { kind: "sync", source: "once" },
      { kind: "sync", source: "never" },
    ]);
    await until(() => bus.stats().invocations === 5 && bus.stats().inFlight === 0);
    expect(attempts).toEqual({ once: 2, never: 3 });
    expect(bus.stats()).toMatchObject({ sent: 2, invocations: 5, failed: 4, deadLettered: 1 });
    expect(errors.sort()).toEqual([1, 1, 2, 3]);
  });

  it("refuses tickets once closed", async () => {
    const bus = serviceBusEmulator({
      latencyMs: 0,
      maxConcurrentCalls: 1,
      maxDeliveryCount: 1,
      deliver: async () => undefined,
      onError: () => undefined,
    });
    await bus.sender.close();
    await expect(bus.sender.send([{ kind: "sync", source: "a" }])).rejects.toThrow("closed");
  });
});
