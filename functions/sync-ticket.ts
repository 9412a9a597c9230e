import { parseTicket } from "../shared/dispatch/tickets.js";
import { runSyncPass } from "../shared/sync/pass.js";
import { app, type InvocationContext } from "./lib/azure.js";
import { getConfig, getReadyServices } from "./lib/services.js";
import { invocationHandler } from "./lib/invocation.js";
import { inInvocationSpan } from "./lib/tracing.js";

/**
 * Drains the source a work ticket names, on whichever instance Service Bus hands it to. The keys
 * are in Redis, not in the ticket: stopping at the budget or at an empty queue loses nothing.
 * A malformed ticket throws, so the host retries it and then moves it to the dead-letter queue.
 */
export const syncTicket = invocationHandler(async (message: unknown, context: InvocationContext): Promise<void> => {
  const ticket = parseTicket(message);
  const services = await getReadyServices();
  if (!services.sources.has(ticket.source)) throw new Error(`ticket names unknown source "${ticket.source}"`);
  await inInvocationSpan(
    services.tracing,
    context,
    "pubsub",
    async (parent) => {
      const { timeBudgetMs } = services.config.sync;
      // While this drain runs, enqueues send no wake-up ticket: it claims their keys itself. If
      // the instance dies, its mark expires a lease after the budget.
      await services.wakeUp?.drainStarted(
        ticket.source,
        context.invocationId,
        timeBudgetMs + services.config.queue.leaseMs,
      );
      let running: number | undefined;
      let report: Awaited<ReturnType<typeof runSyncPass>>;
      try {
        report = await runSyncPass(services, {
          budgetMs: timeBudgetMs,
          untilIdle: true,
          only: [ticket.source],
          parent,
        });
      } finally {
        // Also when the pass failed: a mark left behind would hold wake-ups back until it expired.
        running = await services.wakeUp?.drainEnded(ticket.source, context.invocationId);
      }
      // The last drain to end hands on what is still due (its budget ran out, or keys came after
      // its last empty claim, when no enqueue sent a ticket) instead of leaving it to the timer.
      if (running === 0 && (await services.sources.get(ticket.source)!.queue.stats(services.clock.now())).due > 0) {
        await services.wakeUp!.wake(ticket.source);
      }
      // The sync history's event writes run in the background; an instance may be frozen once this returns.
      await services.history?.flush();
      context.log(`ticket ${ticket.source}: ${JSON.stringify(report)}`);
    },
    { flush: true },
  );
});

// Registered only where Service Bus is configured; the queue name comes from app settings.
if (getConfig().dispatch) {
  app.serviceBusQueue("sync-ticket", {
    connection: "SERVICEBUS",
    queueName: "%SERVICEBUS_QUEUE%",
    handler: syncTicket,
  });
}
