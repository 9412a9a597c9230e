import { runSyncPass } from "../shared/sync/pass.js";
import { app, type InvocationContext, type Timer } from "./lib/azure.js";
import { getServices } from "./lib/services.js";

/**
 * Timer sync: returns expired leases, then drains every source within the time budget.
 * The schedule comes from the SYNC_SCHEDULE app setting; the budget (SYNC_TIME_BUDGET_MS) must
 * stay well below functionTimeout in host.json so a run always ends by itself.
 */
export async function syncTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = await getServices();
  const report = await runSyncPass(services, { budgetMs: services.config.sync.timeBudgetMs });
  context.log(`sync pass: ${JSON.stringify(report)}`);
}

app.timer("sync-timer", { schedule: "%SYNC_SCHEDULE%", runOnStartup: false, handler: syncTimer });
