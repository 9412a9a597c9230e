import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ticket, TicketSender } from "../../shared/dispatch/tickets.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const { InvocationContext } = functions;

/**
 * A ticket drain that ends with keys still due (its budget spent) wakes its source again at once,
 * instead of leaving them to the next timer run. The drain is given far more work than its budget
 * allows on any machine (one key per batch, one batch at a time, thousands of keys, one second),
 * so what is checked is the ticket, not a speed. No Service Bus runs here: the process is given a
 * sender that records what it is sent.
 */
describe("a ticket drain stopped by its budget", () => {
  let source: TestSource;
  const sent: Ticket[] = [];
  const recorder: TicketSender = { send: async (tickets) => void sent.push(...tickets), close: async () => undefined };

  beforeAll(async () => {
    source = await createTestSource({
      env: {
        SERVICEBUS_NAMESPACE: "example.servicebus.windows.net",
        DISPATCH_WAKE_DEBOUNCE_MS: "60000",
        SYNC_TIME_BUDGET_MS: "1000",
        SYNC_BATCH_SIZE: "1",
        SYNC_CONCURRENCY: "1",
      },
    });
    Object.assign(process.env, source.env);
    (await import("../../functions/lib/ticket-sender.js")).useTicketSender(recorder);
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  it("sends one ticket for what is still due", async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    const { syncTicket } = await import("../../functions/sync-ticket.js");
    const queue = (await getServices()).sources.get(source.name)!.queue;
    // Keys of documents that do not exist: each batch reads, finds nothing and deletes from the index.
    await queue.enqueue(
      Array.from({ length: 3000 }, (_, i) => ({ id: `gone${i}`, pk: "x" })),
      { lane: "live", now: Date.now() },
    );
    expect(sent.splice(0)).toEqual([{ kind: "sync", source: source.name }]); // the enqueue's own wake-up

    await syncTicket(
      { kind: "sync", source: source.name },
      new InvocationContext({ functionName: "sync-ticket", invocationId: "t1" }),
    );
    const stats = await queue.stats(Date.now());
    expect(stats.pending).toBeGreaterThan(0);
    expect(stats.pending).toBeLessThan(3000);
    expect(sent).toEqual([{ kind: "sync", source: source.name }]);
  });
});
