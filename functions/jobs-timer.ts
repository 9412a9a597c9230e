import { app, type InvocationContext, type Timer } from "./lib/azure.js";
import { invocationHandler } from "./lib/invocation.js";
import { getReadyServices } from "./lib/services.js";
import { inInvocationSpan } from "./lib/tracing.js";

/**
 * Runs every active reimport and reconcile job for one chunk: each works within
 * SYNC_TIME_BUDGET_MS and saves its continuation, so no invocation outlives functionTimeout and
 * the next tick (on this instance or another) resumes where this one stopped. A job whose runner
 * died is taken over once its lease (JOBS_LEASE_MS) expires.
 *
 * Every 30 seconds, fixed: with no job active a tick is a few Redis reads, and the budget setting
 * already bounds each run.
 */
export const jobsTimer = invocationHandler(async (_timer: Timer, context: InvocationContext): Promise<void> => {
  const services = await getReadyServices();
  await inInvocationSpan(
    services.tracing,
    context,
    "timer",
    async (parent) => {
      const results = await services.jobs.runPending(services.config.sync.timeBudgetMs, { parent });
      for (const { job, ran } of results) {
        if (ran && job)
          context.log(
            `job ${job.id}: ${job.state}, scanned ${job.scanned}, enqueued ${job.enqueued}, errors ${job.errors}`,
          );
      }
    },
    { flush: true },
  );
});

app.timer("jobs-timer", { schedule: "*/30 * * * * *", runOnStartup: false, handler: jobsTimer });
