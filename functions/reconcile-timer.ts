import { ValidationError } from "../shared/core/errors.js";
import { app, type InvocationContext, type Timer } from "./lib/azure.js";
import { getServices } from "./lib/services.js";
import { invocationHandler } from "./lib/invocation.js";
import { inInvocationSpan } from "./lib/tracing.js";

/**
 * Queues a reconcile job for every source on the RECONCILE_SCHEDULE app setting (daily by
 * default); the jobs timer runs them. A source whose last reconcile is still active is skipped.
 */
export const reconcileTimer = invocationHandler(async (_timer: Timer, context: InvocationContext): Promise<void> => {
  const services = await getServices();
  await inInvocationSpan(
    services.tracing,
    context,
    "timer",
    async () => {
      const failures: unknown[] = [];
      for (const name of services.sources.keys()) {
        try {
          const job = await services.jobs.start("reconcile", name);
          context.log(`reconcile ${name}: queued ${job.id}`);
        } catch (error) {
          if (error instanceof ValidationError && error.code === "job_active")
            context.log(`reconcile ${name}: ${error.message}`);
          else failures.push(error);
        }
      }
      // Every source got its chance; then the invocation fails so the failure shows in the host's logs.
      if (failures.length > 0) throw failures[0];
    },
    { flush: true },
  );
});

app.timer("reconcile-timer", { schedule: "%RECONCILE_SCHEDULE%", runOnStartup: false, handler: reconcileTimer });
