import { runJobLoop } from "../../shared/jobs/loop.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job, JobKind } from "../../shared/jobs/types.js";
import type { Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";

/** Starts a job and runs it with a job loop, as a worker would, until it ends (or the time is up); returns it as it ended. */
export async function runJobToEnd(
  services: Services,
  kind: JobKind,
  sourceName: string,
  timeoutMs = 60_000,
): Promise<Job> {
  const stop = new AbortController();
  const loop = runJobLoop(services.jobs, { pollMs: 50, logger: silentLogger, signal: stop.signal });
  try {
    let job: Job | undefined = await services.jobs.start(kind, sourceName);
    const deadline = Date.now() + timeoutMs;
    while (job && !isTerminal(job.state) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await services.jobs.get(job.id);
    }
    return job!;
  } finally {
    stop.abort();
    await loop;
  }
}
