import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ticket, TicketSender } from "../../shared/dispatch/tickets.js";
import { differences } from "../setup/compare.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { invocationContext, onTimeTimer } from "../setup/invocation.js";

/**
 * Scale-out through Service Bus: the timer dispatches tickets, the ticket function drains. No
 * Service Bus runs here, so the timer is given a sender that records what it would send (the
 * TicketSender interface is the seam); the ticket handler is called with those tickets as the
 * host would deliver them.
 */
describe("Service Bus dispatch", () => {
  let source: TestSource;
  let modules: {
    syncTimerHandler: typeof import("../../functions/sync-timer.js").syncTimerHandler;
    syncTicket: typeof import("../../functions/sync-ticket.js").syncTicket;
  };
  const sent: Ticket[] = [];
  const recorder: TicketSender = { send: async (tickets) => void sent.push(...tickets), close: async () => undefined };
  const timer = onTimeTimer;
  const context = invocationContext;

  beforeAll(async () => {
    source = await createTestSource({
      env: {
        SERVICEBUS_NAMESPACE: "example.servicebus.windows.net",
        DISPATCH_KEYS_PER_TICKET: "5",
        DISPATCH_MAX_TICKETS: "2",
        SYNC_TIME_BUDGET_MS: "3000",
      },
    });
    Object.assign(process.env, source.env);
    // The process's sender too: with Service Bus configured, enqueues send wake-up tickets through it.
    (await import("../../functions/lib/ticket-sender.js")).useTicketSender(recorder);
    modules = {
      ...(await import("../../functions/sync-timer.js")),
      ...(await import("../../functions/sync-ticket.js")),
    };
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  const queueStats = async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    return (await getServices()).sources.get(source.name)!.queue.stats(Date.now());
  };

  it("the timer sends no ticket while nothing is due", async () => {
    await modules.syncTimerHandler(() => recorder)(timer, context("sync-timer"));
    expect(sent).toEqual([]);
  });

  it("the timer dispatches tickets for the backlog (capped), and the ticket function drains it", async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    const services = await getServices();
    for (let i = 0; i < 12; i++)
      await source.container.items.create({ id: `s${i}`, tenant: "x", title: `t ${i}`, n: i });
    await services.sources.get(source.name)!.queue.enqueue(
      Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, pk: "x" })),
      { lane: "live", now: Date.now() },
    );
    // The enqueue woke the source (wake.test.ts has the details); the timer's tickets come on top.
    expect(sent.splice(0)).toEqual([{ kind: "sync", source: source.name }]);

    await modules.syncTimerHandler(() => recorder)(timer, context("sync-timer"));
    // 12 due keys at 5 per ticket would be 3 tickets; the cap is 2.
    expect(sent).toEqual([
      { kind: "sync", source: source.name },
      { kind: "sync", source: source.name },
    ]);
    expect((await queueStats()).pending).toBe(12); // dispatching drains nothing itself

    // Service Bus delivers the body as JSON; one ticket drains until the queue is idle.
    await modules.syncTicket(JSON.parse(JSON.stringify(sent[0])), context("sync-ticket"));
    await modules.syncTicket(sent[1], context("sync-ticket"));
    expect(await queueStats()).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
    expect(await differences(source)).toEqual([]);
  });

  it("a malformed or unknown ticket fails the invocation and changes nothing", async () => {
    await expect(modules.syncTicket({ kind: "sync" }, context("sync-ticket"))).rejects.toThrow(/not a work ticket/);
    await expect(modules.syncTicket("garbage", context("sync-ticket"))).rejects.toThrow(/not a work ticket/);
    await expect(modules.syncTicket({ kind: "sync", source: "nope" }, context("sync-ticket"))).rejects.toThrow(
      /unknown source/,
    );
  });

  it("without Service Bus the timer drains in process", async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    const services = await getServices();
    await source.container.items.create({ id: "solo", tenant: "x", title: "solo", n: 1 });
    await services.sources
      .get(source.name)!
      .queue.enqueue([{ id: "solo", pk: "x" }], { lane: "live", now: Date.now() });
    const before = sent.length;
    await modules.syncTimerHandler(() => null)({ ...timer }, context("sync-timer"));
    expect(sent.length).toBe(before);
    expect(await differences(source)).toEqual([]);
  });
});
