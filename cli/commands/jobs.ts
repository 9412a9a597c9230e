import { Command } from "commander";
import { DriftlessError, NotFoundError } from "../../shared/core/errors.js";
import { sleep } from "../../shared/core/clock.js";
import { countDocuments } from "../../shared/elastic/aliases.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job, JobKind } from "../../shared/jobs/types.js";
import type { Services } from "../../shared/runtime/services.js";
import { EXIT } from "../exit-codes.js";
import { createJobProgress } from "../progress.js";
import { withServices } from "./with-services.js";

const POLL_MS = 500;
const CHUNK_MS = 60_000;

export function reimportCommand(): Command {
  return new Command("reimport")
    .description("reimport every document of a source from Cosmos DB into its index (in place, or into a new index version with --rebuild)")
    .argument("<source>", "source name")
    .option("--rebuild", "fill a new index version and swap the alias to it when done (searches are served throughout)")
    .option("--wait", "show progress until the job ends (working on it here too); exit 0 when it succeeded, 1 otherwise")
    .action(async (sourceName: string, options: { rebuild?: boolean; wait?: boolean }) => {
      await startJob("reimport", sourceName, options.wait === true, options.rebuild ? "rebuild" : "in-place");
    });
}

export function reconcileCommand(): Command {
  return new Command("reconcile")
    .description("remove from the index what Cosmos DB no longer has (deletes missed while capture was down, TTL expiries)")
    .argument("<source>", "source name")
    .option("--wait", "show progress until the job ends (working on it here too); exit 0 when it succeeded, 1 otherwise")
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
      await withServices(async (services) => {
        if (jobId) {
          const job = await services.jobs.get(jobId);
          if (!job) throw new NotFoundError("job_not_found", `no job "${jobId}"`);
          process.stdout.write(`${JSON.stringify(services.jobs.toView(job), null, 2)}\n`);
          return;
        }
        const views = (await services.jobs.list()).map((job) => services.jobs.toView(job));
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

async function startJob(kind: JobKind, sourceName: string, wait: boolean, mode?: "in-place" | "rebuild"): Promise<void> {
  await withServices(async (services) => {
    if (!services.sources.has(sourceName)) throw new NotFoundError("unknown_source", `no source named "${sourceName}"`);
    await services.ensureIndexes();
    const job = await services.jobs.start(kind, sourceName, mode ? { mode } : {});
    process.stdout.write(`${JSON.stringify({ jobId: job.id })}\n`);
    if (!wait) return;
    const final = await waitFor(services, job);
    if (!isTerminal(final.state)) return; // interrupted: waitFor said so and set the exit code
    process.stdout.write(`${JSON.stringify(services.jobs.toView(final))}\n`);
    if (final.state !== "succeeded") {
      process.stderr.write(`driftless: job ${final.id} ${final.state}${final.lastError ? `: ${final.lastError}` : ""}\n`);
      process.exitCode = EXIT.failure;
    }
  });
}

/**
 * Polls the job until it ends, drawing progress. Meanwhile this process works on the job too
 * (the job's lease lets one runner at a time make progress), so `--wait` finishes even where no
 * worker or timer function runs jobs. Ctrl-C stops only this process's part, after its current
 * page is committed: a worker or the jobs timer picks the job up from there.
 */
async function waitFor(services: Services, job: Job): Promise<Job> {
  const total = await countDocuments(services.clients.elastic, services.sources.get(job.source)!.config.index).catch(() => undefined);
  const progress = createJobProgress(process.stderr, total);
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once("SIGINT", interrupt);
  const runner = (async () => {
    while (!stop.signal.aborted) {
      try {
        const { job: current } = await services.jobs.runChunk(job.id, CHUNK_MS, { signal: stop.signal });
        if (!current || isTerminal(current.state)) return;
      } catch (error) {
        // The job records its own failures; a failure here (Redis down) is retried after a pause.
        if (!(error instanceof DriftlessError)) throw error;
      }
      await sleep(POLL_MS, stop.signal);
    }
  })();
  try {
    for (;;) {
      const current = await services.jobs.get(job.id);
      if (!current) throw new NotFoundError("job_not_found", `job ${job.id} disappeared`);
      progress.update(services.jobs.toView(current));
      if (isTerminal(current.state)) return current;
      if (stop.signal.aborted) {
        progress.end();
        process.stderr.write(`driftless: stopped waiting; job ${job.id} is ${current.state} and continues where jobs run\n`);
        process.exitCode = 130;
        return current;
      }
      await sleep(POLL_MS);
    }
  } finally {
    progress.end();
    stop.abort();
    process.off("SIGINT", interrupt);
    await runner;
  }
}
