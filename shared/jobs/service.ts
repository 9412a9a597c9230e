import { NotFoundError, ValidationError } from "../core/errors.js";
import type { JobDeps } from "./context.js";
import { runJobChunk } from "./runner.js";
import { isTerminal } from "./store.js";
import { JOB_KINDS, type Job, type JobPhase, type JobsService, type JobView } from "./types.js";

/** The jobs service over the adapters in `deps`; the composition root builds them (shared/runtime/jobs.ts). */
export function createJobs(deps: JobDeps): JobsService & { readonly deps: JobDeps } {
  const { sources, clock, store } = deps;

  const known = async (jobId: string): Promise<Job> => {
    const job = await store.get(jobId);
    if (!job || !sources.has(job.source)) throw new NotFoundError("job_not_found", `no job "${jobId.slice(0, 120)}"`);
    return job;
  };

  const queuedListeners = new Set<() => void>();
  const service: JobsService & { readonly deps: JobDeps } = {
    onQueued(listener) {
      queuedListeners.add(listener);
      return () => queuedListeners.delete(listener);
    },
    deps,

    async start(kind, sourceName, options = {}) {
      if (!sources.has(sourceName))
        throw new NotFoundError("unknown_source", `no source named "${sourceName.slice(0, 100)}"`);
      const mode = kind === "reimport" ? (options.mode ?? "in-place") : undefined;
      const { config } = sources.get(sourceName)!;
      // A rebuild swaps the alias to an index built from this source's container alone: in an
      // index several sources share, the swap would drop every other source's documents.
      if (mode === "rebuild" && config.sharedIndex) {
        throw new ValidationError(
          "rebuild_shared_index",
          `source "${sourceName}" shares index "${config.index}" with other sources, and a rebuild would drop their documents: reimport in place, or move every source of the index to a new alias (docs/engines.md)`,
          409,
        );
      }
      const result = await store.create(kind, sourceName, clock.now(), mode);
      if (!result.created) {
        throw new ValidationError(
          "job_active",
          `source "${sourceName}" already has an active ${kind} job: ${result.activeId}`,
          409,
        );
      }
      deps.logger.info({ job: result.job.id, source: sourceName, kind, mode }, "job queued");
      for (const listener of queuedListeners) listener();
      return result.job;
    },

    async get(jobId) {
      const job = await store.get(jobId);
      return job && sources.has(job.source) ? job : undefined;
    },

    async list(sourceName) {
      const names = sourceName ? [sourceName] : [...sources.keys()];
      const lists = await Promise.all(names.map((name) => store.list(name)));
      return lists.flat().sort((a, b) => b.createdAt - a.createdAt);
    },

    async cancel(jobId) {
      const job = await known(jobId);
      const outcome = await store.cancel(job, clock.now());
      if (outcome === "missing") throw new NotFoundError("job_not_found", `no job "${jobId.slice(0, 120)}"`);
      if (outcome !== "now" && outcome !== "requested") {
        throw new ValidationError("job_finished", `job ${jobId} has ended already (${outcome})`, 409);
      }
      return known(jobId);
    },

    runChunk: (jobId, budgetMs, options) => runJobChunk(deps, jobId, budgetMs, options),

    async runPending(budgetMs, options = {}) {
      const ids = await service.activeJobIds();
      const chunkOptions = {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.parent ? { parent: options.parent } : {}),
      };
      return Promise.all(ids.map((id) => runJobChunk(deps, id, budgetMs, chunkOptions)));
    },

    async activeJobIds() {
      const ids: string[] = [];
      for (const name of sources.keys()) {
        for (const kind of JOB_KINDS) {
          const id = await store.active(name, kind);
          if (!id) continue;
          const job = await store.get(id);
          // A slot pointing at an expired or ended job is stale: free it.
          if (!job || isTerminal(job.state)) await store.clearActive(name, kind, id);
          else ids.push(id);
        }
      }
      return ids;
    },

    toView,
  };
  return service;
}

export function toView(job: Job): JobView {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    jobId: job.id,
    kind: job.kind,
    source: job.source,
    state: job.state,
    ...(job.mode ? { mode: job.mode } : {}),
    scanned: job.scanned,
    indexed: job.indexed,
    enqueued: job.enqueued,
    missing: job.missing,
    errors: job.errors,
    pages: job.pages,
    createdAt: new Date(job.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    phaseMs: phaseDurations(job),
    cancelRequested: job.cancelRequested,
    ...(job.targetIndex ? { targetIndex: job.targetIndex } : {}),
    lastError: job.lastError ?? null,
  };
}

const PHASE_ORDER: readonly JobPhase[] = ["prepare", "scan", "swap"];

/** Each reached phase runs until the next reached one starts, the last until the job's end. */
export function phaseDurations(job: Job): Partial<Record<JobPhase, number>> {
  if (job.startedAt === undefined) return {};
  const starts = PHASE_ORDER.map(
    (phase) => [phase, phase === "prepare" ? job.startedAt : job.phaseStartedAt[phase]] as const,
  ).filter((entry): entry is readonly [JobPhase, number] => entry[1] !== undefined);
  const durations: Partial<Record<JobPhase, number>> = {};
  starts.forEach(([phase, start], i) => {
    const end = i + 1 < starts.length ? starts[i + 1]![1] : job.finishedAt;
    if (end !== undefined) durations[phase] = Math.max(0, end - start);
  });
  return durations;
}
