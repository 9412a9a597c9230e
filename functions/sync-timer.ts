import { dispatchTickets } from "../shared/dispatch/dispatcher.js";
import type { TicketSender } from "../shared/dispatch/tickets.js";
import { runSyncPass } from "../shared/sync/pass.js";
import { app, type InvocationContext, type Timer } from "./lib/azure.js";
import { getReadyServices } from "./lib/services.js";
import { getTicketSender } from "./lib/tickets.js";
import { invocationHandler } from "./lib/invocation.js";
import { inInvocationSpan } from "./lib/tracing.js";

/**
 * Timer sync. Azure runs a timer on one instance at a time, so with Service Bus configured the
 * timer only returns expired leases and dispatches work tickets (as many as the backlog needs,
 * capped), and the sync-ticket function drains on every instance the platform gives. Without
 * Service Bus it drains in process until the queue has nothing due, or SYNC_TIME_BUDGET_MS at
 * most (which must stay well below functionTimeout in host.json so a run always ends by itself):
 * a run that polled an empty queue for its whole budget was billed for most of every idle minute.
 */
export function syncTimerHandler(senderOf: () => TicketSender | null) {
  return invocationHandler(async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const services = await getReadyServices();
    const sender = senderOf();
    const dispatch = services.config.dispatch;
    await inInvocationSpan(
      services.tracing,
      context,
      "timer",
      async (parent) => {
        if (!sender || !dispatch) {
          const report = await runSyncPass(services, {
            budgetMs: services.config.sync.timeBudgetMs,
            untilIdle: true,
            parent,
          });
          // The sync history's event writes run in the background; an instance may be frozen once this returns.
          await services.history?.flush();
          context.log(`sync pass: ${JSON.stringify(report)}`);
          return;
        }
        for (const source of services.sources.values()) await source.queue.reap(services.clock.now());
        const report = await dispatchTickets(services.sources, sender, services.clock.now(), dispatch);
        context.log(`dispatched: ${JSON.stringify(report)}`);
      },
      { flush: true },
    );
  });
}

export const syncTimer = syncTimerHandler(getTicketSender);

app.timer("sync-timer", { schedule: "%SYNC_SCHEDULE%", runOnStartup: false, handler: syncTimer });
