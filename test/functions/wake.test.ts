import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ticket, TicketSender } from "../../shared/dispatch/tickets.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { invocationContext } from "../setup/invocation.js";

/**
 * The wake-up with Service Bus: an enqueue (the HTTP producer's or capture's) on a source whose
 * drain is not running sends one ticket for it at once, and no more within the debounce. No
 * Service Bus runs here: the Functions process is given a sender that records what it is sent
 * (the TicketSender port); Redis, Elasticsearch and Cosmos are the real ones. The debounce is a
 * minute, so nothing here depends on how fast the machine is.
 */
describe("wake-up tickets", () => {
  let a: TestSource;
  let b: TestSource;
  const sent: Ticket[] = [];
  const recorder: TicketSender = { send: async (tickets) => void sent.push(...tickets), close: async () => undefined };
  const context = invocationContext;
  let modules: {
    captureHandler: typeof import("../../functions/capture.js").captureHandler;
    syncTicket: typeof import("../../functions/sync-ticket.js").syncTicket;
    getServices: typeof import("../../functions/lib/services.js").getServices;
  };

  beforeAll(async () => {
    a = await createTestSource();
    b = await createTestSource();
    // One Functions app with both sources, on a's Redis prefix.
    const both = [...JSON.parse(a.env.DRIFTLESS_SOURCES!), ...JSON.parse(b.env.DRIFTLESS_SOURCES!)];
    Object.assign(process.env, a.env, {
      DRIFTLESS_SOURCES: JSON.stringify(both),
      SERVICEBUS_NAMESPACE: "example.servicebus.windows.net",
      DISPATCH_WAKE_DEBOUNCE_MS: "60000",
      SYNC_TIME_BUDGET_MS: "20000",
    });
    const { useTicketSender } = await import("../../functions/lib/ticket-sender.js");
    useTicketSender(recorder);
    modules = {
      ...(await import("../../functions/capture.js")),
      ...(await import("../../functions/sync-ticket.js")),
      ...(await import("../../functions/lib/services.js")),
    };
  });

  afterAll(async () => {
    await (await modules.getServices()).close();
    await a?.dispose();
    await b?.dispose();
  });

  const produce = async (source: TestSource, ids: string[]) => {
    const { enqueueHandler } = await import("../../shared/api/enqueue.js");
    const response = await enqueueHandler(await modules.getServices(), {
      method: "POST",
      params: { source: source.name },
      query: new URLSearchParams(),
      body: JSON.stringify({ items: ids.map((id) => ({ id, pk: "x" })) }),
    });
    expect(response.status).toBe(202);
    return response.body as { enqueued: number };
  };
  const capture = (source: TestSource, ids: string[]) =>
    modules.captureHandler(source.name)(
      ids.map((id) => ({ id, tenant: "x", _ts: Math.floor(Date.now() / 1000) })),
      context(`capture-${source.name}`),
    );
  const ticketsFor = (source: TestSource) => sent.filter((ticket) => ticket.source === source.name);

  it("sends one ticket per source for many enqueues within the debounce, from the producer and from capture", async () => {
    expect((await produce(a, ["a1"])).enqueued).toBe(1);
    expect((await produce(a, ["a2", "a3"])).enqueued).toBe(2);
    await capture(a, ["a4"]);
    await capture(b, ["b1"]);
    await capture(b, ["b2"]);
    expect((await produce(b, ["b3"])).enqueued).toBe(1);

    expect(ticketsFor(a)).toEqual([{ kind: "sync", source: a.name }]);
    expect(ticketsFor(b)).toEqual([{ kind: "sync", source: b.name }]);
    expect(sent).toHaveLength(2);
  });

  it("sends none while the source's ticket drain runs, and wakes again at once after it ended", async () => {
    for (const id of ["a1", "a2", "a3", "a4", "a5"])
      await a.container.items.create({ id, tenant: "x", title: id, n: 1 });
    const services = await modules.getServices();
    // The ticket the wake-up sent, delivered as the host would: it drains a until idle.
    await modules.syncTicket(JSON.parse(JSON.stringify(ticketsFor(a)[0])), context("sync-ticket"));
    expect(await services.sources.get(a.name)!.queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0 });
    expect(sent).toHaveLength(2); // nothing was due after the drain, so it sent nothing itself

    // The drain is over: a's next enqueue wakes it again, inside what would have been the debounce.
    expect((await produce(a, ["a5"])).enqueued).toBe(1);
    expect(ticketsFor(a)).toHaveLength(2);
    // b's ticket has not been delivered yet: its window still holds.
    await capture(b, ["b4"]);
    expect(ticketsFor(b)).toHaveLength(1);

    // While a drain of a runs (marked as sync-ticket marks it), a's enqueues send nothing.
    await services.wakeUp!.drainEnded(a.name, "none");
    await services.wakeUp!.drainStarted(a.name, "d1", 60_000);
    expect((await produce(a, ["a6"])).enqueued).toBe(1);
    expect(ticketsFor(a)).toHaveLength(2);
    expect(await services.wakeUp!.drainEnded(a.name, "d1")).toBe(0);
  });

  it("a duplicate enqueue (nothing new pending) sends no ticket", async () => {
    const services = await modules.getServices();
    expect(await services.wakeUp!.drainEnded(b.name, "none")).toBe(0); // opens b's window
    const before = sent.length;
    expect((await produce(b, ["b1"])).enqueued).toBe(0);
    expect(sent).toHaveLength(before);
  });

  it("with several drains running, only the end of the last one opens the window: tickets do not multiply", async () => {
    const services = await modules.getServices();
    await services.wakeUp!.drainStarted(b.name, "d1", 60_000);
    await services.wakeUp!.drainStarted(b.name, "d2", 60_000);
    const before = ticketsFor(b).length;
    expect(await services.wakeUp!.drainEnded(b.name, "d1")).toBe(1);
    expect((await produce(b, ["b10"])).enqueued).toBe(1); // d2 still runs and claims it
    expect(ticketsFor(b)).toHaveLength(before);
    expect(await services.wakeUp!.drainEnded(b.name, "d2")).toBe(0);
    expect((await produce(b, ["b11"])).enqueued).toBe(1);
    expect(ticketsFor(b)).toHaveLength(before + 1);
    expect((await produce(b, ["b12"])).enqueued).toBe(1); // and only one within the debounce
    expect(ticketsFor(b)).toHaveLength(before + 1);
  });

  it("a drain whose instance died stops holding the wake-up back once its mark's deadline passed", async () => {
    const services = await modules.getServices();
    expect(await services.wakeUp!.drainEnded(b.name, "none")).toBe(0);
    await services.wakeUp!.drainStarted(b.name, "died", 1);
    await new Promise((resolve) => setTimeout(resolve, 20)); // past the 1 ms mark: waiting longer only helps
    const before = ticketsFor(b).length;
    expect((await produce(b, ["b13"])).enqueued).toBe(1);
    expect(ticketsFor(b)).toHaveLength(before + 1);
  });
});
