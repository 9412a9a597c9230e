import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ticket, TicketSender } from "../../shared/dispatch/tickets.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const { InvocationContext } = functions;

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
  const context = (name: string) => new InvocationContext({ functionName: name, invocationId: `test-${name}` });
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
    for (const id of ["a1", "a2", "a3", "a4", "a5"]) await a.container.items.create({ id, tenant: "x", title: id, n: 1 });
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
    await services.wakeUp!.drainEnded(a.name);
    await services.wakeUp!.drainStarted(a.name, 60_000);
    expect((await produce(a, ["a6"])).enqueued).toBe(1);
    expect(ticketsFor(a)).toHaveLength(2);
    await services.wakeUp!.drainEnded(a.name);
  });

  it("a duplicate enqueue (nothing new pending) sends no ticket", async () => {
    const services = await modules.getServices();
    await services.wakeUp!.drainEnded(b.name);
    const before = sent.length;
    expect((await produce(b, ["b1"])).enqueued).toBe(0);
    expect(sent).toHaveLength(before);
  });

  it("after a drain ended, a source with keys due gets exactly one ticket", async () => {
    // What sync-ticket does once its pass returned with keys due (its budget spent, or keys
    // enqueued after its last empty claim but before it marked its end), instead of leaving them to the timer.
    const services = await modules.getServices();
    await services.wakeUp!.drainEnded(b.name);
    const before = ticketsFor(b).length;
    await services.wakeUp!.drainStarted(b.name, 60_000);
    await produce(b, ["b9"]); // marked as draining: sends nothing
    expect(ticketsFor(b)).toHaveLength(before);
    await services.wakeUp!.drainEnded(b.name);
    // What sync-ticket does once its pass returned: b9 is due, so one ticket goes out.
    expect(await services.wakeUp!.wake(b.name)).toBe(true);
    expect(ticketsFor(b)).toHaveLength(before + 1);
    expect(await services.wakeUp!.wake(b.name)).toBe(false); // and only one within the debounce
  });
});
