import { DependencyError, describeError } from "../core/errors.js";
import type { RedisClient } from "../redis/client.js";
import { ScriptCode } from "../redis/codes.js";
import { jobKeys, type JobKeys } from "../redis/keys.js";
import { acquireLease, deleteIfEquals } from "../redis/lease.js";
import { registerScripts, scriptCommand, type JOB_SCRIPTS } from "../redis/scripts.js";
import { newJobId, parseJobId } from "./ids.js";
import type { Job, JobCounters, JobKind, JobPhase, JobState, ReimportMode } from "./types.js";

/** A finished job stays readable this long (GET /api/jobs/{jobId}, `driftless jobs`). */
const FINISHED_TTL_SECONDS = 7 * 24 * 3600;
/** Jobs listed per source; older ones drop off the list (their hashes expire on their own). */
const LIST_KEEP = 50;
const MAX_TEXT = 1000;

export type CounterName = keyof JobCounters;

/** Fields a runner sets along with its counters; `undefined` leaves a field as it is. */
export interface JobUpdate {
  readonly state?: JobState;
  readonly phase?: JobPhase;
  /** When `phase` began: set with the update that enters it (stored as `<phase>StartedAt`). */
  readonly phaseStartedAt?: number;
  readonly startedAt?: number;
  readonly continuation?: string;
  readonly targetIndex?: string;
  readonly targetAlias?: string;
  readonly previousIndices?: readonly string[];
  readonly failures?: number;
  readonly lastError?: string;
}

export type CommitResult = "ok" | "lease_lost" | "missing" | "wrong_state";

/** The job records and runner leases in Redis, one Lua script per state change (shared/redis/lua/). */
export interface JobStore {
  /** Creates a queued job, or returns the id of the active job of that kind. */
  create(
    kind: JobKind,
    source: string,
    now: number,
    mode?: ReimportMode,
  ): Promise<{ created: true; job: Job } | { created: false; activeId: string }>;
  get(jobId: string): Promise<Job | undefined>;
  list(source: string): Promise<Job[]>;
  /** The id of the source's active job of this kind, if any. */
  active(source: string, kind: JobKind): Promise<string | undefined>;
  /** Frees an active slot that points at a job that ended or vanished (a crash between two steps, an expired hash). */
  clearActive(source: string, kind: JobKind, jobId: string): Promise<void>;
  acquire(job: Pick<Job, "source" | "kind">, token: string, leaseMs: number): Promise<boolean>;
  release(job: Pick<Job, "source" | "kind">, token: string): Promise<void>;
  commit(
    job: Pick<Job, "id" | "source" | "kind">,
    token: string,
    leaseMs: number,
    change: {
      increments?: Partial<Record<CounterName, number>>;
      update?: JobUpdate;
      expectState?: JobState;
      now: number;
    },
  ): Promise<CommitResult>;
  finish(
    job: Pick<Job, "id" | "source" | "kind">,
    token: string,
    state: "succeeded" | "failed" | "cancelled",
    now: number,
    lastError?: string,
  ): Promise<boolean>;
  /** "now": cancelled here; "requested": its runner finishes the cancel; otherwise the state the job had ended in. */
  cancel(job: Pick<Job, "id" | "source" | "kind">, now: number): Promise<"missing" | "now" | "requested" | JobState>;
  keys(source: string): JobKeys;
}

type ScriptName = keyof typeof JOB_SCRIPTS;

export function createJobStore(redis: RedisClient, prefix: string): JobStore {
  registerScripts(redis);
  const keysBySource = new Map<string, JobKeys>();
  const keys = (source: string): JobKeys => {
    let found = keysBySource.get(source);
    if (!found) {
      found = jobKeys(prefix, source);
      keysBySource.set(source, found);
    }
    return found;
  };
  const run = async <T>(name: ScriptName, args: (string | number)[]): Promise<T> => {
    const command = scriptCommand(redis, name);
    try {
      return (await command(...args)) as T;
    } catch (error) {
      throw new DependencyError("redis", `job script ${name} failed: ${describeError(error)}`, { cause: error });
    }
  };
  const redisCall = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw new DependencyError("redis", `${what} failed: ${describeError(error)}`, { cause: error });
    }
  };

  const store: JobStore = {
    keys,

    async create(kind, source, now, mode) {
      const k = keys(source);
      for (let attempt = 0; attempt < 3; attempt++) {
        const id = newJobId(kind, source, now);
        const fields: Record<string, string> = {
          id,
          kind,
          source,
          state: "queued",
          phase: "prepare",
          createdAt: String(now),
          updatedAt: String(now),
        };
        if (mode) fields.mode = mode;
        const [created, other] = await run<[number, string]>("createJob", [
          k.active(kind),
          k.job(id),
          k.list,
          id,
          now,
          LIST_KEEP,
          ...Object.entries(fields).flat(),
        ]);
        if (created === 1) return { created: true, job: parseJob(fields)! };
        // The active slot may point at a job that ended without freeing it or whose record expired.
        const activeJob = await store.get(other);
        if (activeJob && !isTerminal(activeJob.state)) return { created: false, activeId: other };
        await store.clearActive(source, kind, other);
      }
      throw new DependencyError("redis", "could not create the job: its active slot kept changing");
    },

    async get(jobId) {
      const parsed = parseJobId(jobId);
      if (!parsed) return undefined;
      const fields = await redisCall("reading a job", () => redis.hgetall(keys(parsed.source).job(jobId)));
      return parseJob(fields);
    },

    async list(source) {
      const k = keys(source);
      const ids = await redisCall("listing jobs", () => redis.zrevrange(k.list, 0, LIST_KEEP - 1));
      const jobs = await Promise.all(ids.map((id) => store.get(id)));
      return jobs.filter((job): job is Job => job !== undefined);
    },

    async active(source, kind) {
      return (await redisCall("reading the active job", () => redis.get(keys(source).active(kind)))) ?? undefined;
    },

    async clearActive(source, kind, jobId) {
      await redisCall("clearing the active job", () => deleteIfEquals(redis, keys(source).active(kind), jobId));
    },

    async acquire(job, token, leaseMs) {
      return redisCall("taking the job lease", () =>
        acquireLease(redis, keys(job.source).lease(job.kind), token, leaseMs),
      );
    },

    async release(job, token) {
      await redisCall("giving the job lease up", () => deleteIfEquals(redis, keys(job.source).lease(job.kind), token));
    },

    async commit(job, token, leaseMs, { increments = {}, update = {}, expectState, now }) {
      const k = keys(job.source);
      const incr = Object.entries(increments).filter(([, delta]) => delta !== undefined && delta !== 0) as [
        string,
        number,
      ][];
      const set = { ...serializeUpdate(update), updatedAt: String(now) };
      const reply = await run<number>("commitJob", [
        k.lease(job.kind),
        k.job(job.id),
        token,
        leaseMs,
        expectState ?? "",
        incr.length,
        ...incr.flat(),
        ...Object.entries(set).flat(),
      ]);
      return reply === 1
        ? "ok"
        : reply === 0
          ? "lease_lost"
          : reply === ScriptCode.JobMissing
            ? "missing"
            : "wrong_state";
    },

    async finish(job, token, state, now, lastError) {
      const k = keys(job.source);
      const reply = await run<number>("finishJob", [
        k.lease(job.kind),
        k.job(job.id),
        k.active(job.kind),
        token,
        job.id,
        state,
        now,
        FINISHED_TTL_SECONDS,
        clip(lastError ?? ""),
      ]);
      return reply === 1;
    },

    async cancel(job, now) {
      const k = keys(job.source);
      return run("cancelJob", [
        k.job(job.id),
        k.active(job.kind),
        k.lease(job.kind),
        job.id,
        now,
        FINISHED_TTL_SECONDS,
      ]);
    },
  };
  return store;
}

export function isTerminal(state: JobState): boolean {
  return state === "succeeded" || state === "failed" || state === "cancelled";
}

function serializeUpdate(update: JobUpdate): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, value] of Object.entries(update)) {
    if (value === undefined) continue;
    if (field === "phaseStartedAt") {
      if (update.phase && update.phase !== "prepare") out[`${update.phase}StartedAt`] = String(value);
    } else if (field === "previousIndices") out[field] = JSON.stringify(value);
    else out[field] = field === "lastError" ? clip(String(value)) : String(value);
  }
  return out;
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

const STATES: readonly JobState[] = ["queued", "running", "succeeded", "failed", "cancelled"];
const PHASES: readonly JobPhase[] = ["prepare", "scan", "swap"];

/** A job from its hash; undefined for an empty (missing) or foreign hash. */
function parseJob(fields: Record<string, string>): Job | undefined {
  const { id, kind, source, state } = fields;
  if (!id || !source || (kind !== "reimport" && kind !== "reconcile") || !STATES.includes(state as JobState))
    return undefined;
  const int = (name: string) => Number(fields[name] ?? 0) || 0;
  const time = (name: string) => (fields[name] ? Number(fields[name]) : undefined);
  const text = (name: string) => (fields[name] === undefined || fields[name] === "" ? undefined : fields[name]);
  return {
    id,
    kind,
    source,
    state: state as JobState,
    phase: PHASES.includes(fields.phase as JobPhase) ? (fields.phase as JobPhase) : "prepare",
    mode:
      fields.mode === "rebuild" || fields.mode === "in-place"
        ? fields.mode
        : kind === "reimport"
          ? "in-place"
          : undefined,
    createdAt: int("createdAt"),
    startedAt: time("startedAt"),
    finishedAt: time("finishedAt"),
    updatedAt: time("updatedAt"),
    phaseStartedAt: definedOnly({ scan: time("scanStartedAt"), swap: time("swapStartedAt") }),
    scanned: int("scanned"),
    indexed: int("indexed"),
    enqueued: int("enqueued"),
    missing: int("missing"),
    errors: int("errors"),
    pages: int("pages"),
    continuation: text("continuation"),
    targetIndex: text("targetIndex"),
    targetAlias: text("targetAlias"),
    previousIndices: fields.previousIndices ? (JSON.parse(fields.previousIndices) as string[]) : [],
    cancelRequested: fields.cancelRequested === "1",
    failures: int("failures"),
    lastError: text("lastError"),
  };
}

function definedOnly<T extends Record<string, number | undefined>>(values: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: number;
  };
}
