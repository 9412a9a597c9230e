import { Command } from "commander";
import { sleep } from "../../shared/core/clock.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { JobKind, JobView } from "../../shared/jobs/types.js";
import { EXIT } from "../exit-codes.js";
import { withOperations, type Operations } from "../operations/index.js";
import { createJobProgress } from "../progress.js";

const POLL_MS = 500;
/** The most jobs the jobs route answers with (the store keeps the last 50 per source). */
const LIST_LIMIT = 100;

export function reimportCommand(): Command {
  return new Command("reimport")
    .description(
      "reimport every document of a source from Cosmos DB into its index (in place, or into a new index version with --rebuild)",
    )
    .argument("<source>", "source name")
    .option("--rebuild", "fill a new index version and swap the alias to it when done (searches are served throughout)")
    .option(
      "--wait",
      "show progress until the job ends (working on it here too, unless remote); exit 0 when it succeeded, 1 otherwise",
    )
    .action(async (sourceName: string, options: { rebuild?: boolean; wait?: boolean }) => {
      await startJob("reimport", sourceName, options.wait === true, options.rebuild ? "rebuild" : "in-place");
    });
}

export function reconcileCommand(): Command {
  return new Command("reconcile")
    .description(
      "remove from the index what Cosmos DB no longer has (deletes missed while capture was down, TTL expiries)",
    )
    .argument("<source>", "source name")
    .option(
      "--wait",
      "show progress until the job ends (working on it here too, unless remote); exit 0 when it succeeded, 1 otherwise",
    )
    .action(async (sourceName: string, options: { wait?: boolean }) => {
      await startJob("reconcile", sourceName, options.wait === true);
    });
}

export function jobsCommand(): Command {
  return new Command("jobs")
    .description("show a job (state, counters, times), or the recent jobs of every source")
    .argument("[jobId]", "the id a reimport or reconcile printed")
    .option("--json", "print JSON")
    .action(async (jobId: string | undefined, options: { json?: boolean }) => {
      await withOperations(async (operations) => {
        if (jobId) {
          const view = await operations.call("job-status", { params: { jobId } });
          process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
          return;
        }
        const { jobs: views } = (await operations.call("jobs-list", {
          query: new URLSearchParams({ limit: String(LIST_LIMIT) }),
        })) as { jobs: JobView[] };
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ jobs: views }, null, 2)}\n`);
          return;
        }
        if (views.length === 0) {
          process.stdout.write("no jobs\n");
          return;
        }
        console.table(
          views.map(({ jobId: id, state, scanned, indexed, enqueued, missing, errors, startedAt, finishedAt }) => ({
            job: id,
            state,
            scanned,
            indexed,
            enqueued,
            missing,
            errors,
            startedAt,
            finishedAt,
          })),
        );
      });
    });
}

async function startJob(
  kind: JobKind,
  sourceName: string,
  wait: boolean,
  mode?: "in-place" | "rebuild",
): Promise<void> {
  await withOperations(async (operations) => {
    const { jobId } = await operations.startJob(kind, sourceName, mode);
    process.stdout.write(`${JSON.stringify({ jobId })}\n`);
    if (!wait) return;
    const final = await waitFor(operations, jobId, sourceName);
    if (!isTerminal(final.state)) return; // interrupted: waitFor said so and set the exit code
    process.stdout.write(`${JSON.stringify(final)}\n`);
    if (final.state !== "succeeded") {
      process.stderr.write(
        `driftless: job ${final.jobId} ${final.state}${final.lastError ? `: ${final.lastError}` : ""}\n`,
      );
      process.exitCode = EXIT.failure;
    }
  });
}

/**
 * Polls the job until it ends, drawing progress. Meanwhile a local run works on the job too (the
 * job's lease lets one runner at a time make progress), so `--wait` finishes even where no worker
 * or timer function runs jobs; a remote run only follows it. Ctrl-C stops only this process's
 * part, after its current page is committed: a worker or the jobs timer picks the job up from there.
 */
async function waitFor(operations: Operations, jobId: string, source: string): Promise<JobView> {
  const progress = createJobProgress(process.stderr, await operations.documentCount(source));
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once("SIGINT", interrupt);
  const runner = operations.workOnJob(jobId, stop.signal);
  try {
    for (;;) {
      const current = (await operations.call("job-status", { params: { jobId } })) as JobView;
      progress.update(current);
      if (isTerminal(current.state)) return current;
      if (stop.signal.aborted) {
        progress.end();
        process.stderr.write(
          `driftless: stopped waiting; job ${jobId} is ${current.state} and continues where jobs run\n`,
        );
        process.exitCode = 130;
        return current;
      }
      await sleep(POLL_MS, stop.signal);
    }
  } finally {
    progress.end();
    stop.abort();
    process.off("SIGINT", interrupt);
    await runner;
  }
}
