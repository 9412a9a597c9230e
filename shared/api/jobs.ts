import { z } from "zod";
import { DependencyError, NotFoundError, ValidationError } from "../core/errors.js";
import type { JobsService, JobView } from "../jobs/types.js";
import { parseJsonBody, sourceNamed, sourceOf } from "./request.js";
import type { ApiRequest, ApiServices, RouteHandler } from "./types.js";

const reimportSchema = z.object({ mode: z.enum(["in-place", "rebuild"]).optional() }).strict();
const reconcileSchema = z.object({}).strict();

/** `POST /api/sources/{source}/reimport` with no body, `{}` or `{"mode":"in-place"|"rebuild"}` → 202 `{"jobId":"…"}`. */
export const reimportHandler: RouteHandler = async (services, request) => {
  const source = sourceOf(services, request);
  const body = optionalBody(request, reimportSchema, `expected {} or {"mode":"in-place"|"rebuild"}`);
  const job = await jobsOf(services).start("reimport", source.config.name, body.mode ? { mode: body.mode } : {});
  return { status: 202, body: { jobId: job.id } };
};

/** `POST /api/sources/{source}/reconcile` with no body or `{}` → 202 `{"jobId":"…"}`. */
export const reconcileHandler: RouteHandler = async (services, request) => {
  const source = sourceOf(services, request);
  optionalBody(request, reconcileSchema, "expected no body or {}");
  const job = await jobsOf(services).start("reconcile", source.config.name);
  return { status: 202, body: { jobId: job.id } };
};

/** `GET /api/jobs/{jobId}` → the job's state and counters. */
export const jobStatusHandler: RouteHandler = async (services, request) => {
  const jobs = jobsOf(services);
  const jobId = request.params.jobId ?? "";
  const job = await jobs.get(jobId);
  if (!job) throw new NotFoundError("job_not_found", `no job "${jobId.slice(0, 120)}"`);
  return { status: 200, body: jobs.toView(job) };
};

/** The most jobs `GET /api/jobs` answers with; the store keeps the last 50 per source. */
const MAX_LIST_LIMIT = 100;
const DEFAULT_LIST_LIMIT = 20;

/**
 * `GET /api/jobs?source=<name>&limit=<n>` → `{"jobs":[…]}`: the recent jobs of one source (or of
 * every source without `source`), newest first, at most `limit` (1–100, default 20). Checked
 * before anything is read: an unknown source is a 404 `unknown_source`, a bad limit a 400
 * `invalid_query`.
 */
export const jobsListHandler: RouteHandler = async (services, request) => {
  const name = request.query.get("source");
  if (name !== null) sourceNamed(services, name);
  const raw = request.query.get("limit") ?? String(DEFAULT_LIST_LIMIT);
  const limit = Number(raw);
  if (!/^\d{1,4}$/.test(raw) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ValidationError("invalid_query", `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  }
  const jobs = jobsOf(services);
  const list = await jobs.list(name ?? undefined);
  return { status: 200, body: { jobs: list.slice(0, limit).map((job) => jobs.toView(job)) } };
};

/** `POST /api/jobs/{jobId}/cancel` → 202 with the job (`cancelled`, or still `running` with `cancelRequested` until its runner stops). */
export const cancelJobHandler: RouteHandler = async (services, request) => {
  const jobs = jobsOf(services);
  const job = await jobs.cancel(request.params.jobId ?? "");
  return { status: 202, body: jobs.toView(job) };
};

function jobsOf(services: ApiServices): JobsService {
  if (!services.jobs) throw new DependencyError("redis", "this host does not run jobs", { retryable: false });
  return services.jobs;
}

/** An empty body means "defaults"; anything else must be JSON that the schema accepts. Checked before anything changes. */
function optionalBody<T>(request: ApiRequest, schema: z.ZodType<T>, expected: string): T {
  const json = request.body.trim() === "" ? {} : parseJsonBody(request.body);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new ValidationError("invalid_body", `${expected}: ${issue.message}${where}`);
  }
  return parsed.data;
}

/** For a caller without a key: a job's `lastError` (an Elasticsearch or Cosmos message, which can quote a document) is replaced. */
export function redactJob(body: unknown, redacted: string): unknown {
  const job = body as Partial<JobView> | null;
  if (!job || typeof job.lastError !== "string") return body;
  return { ...job, lastError: redacted };
}

/** The same for each job of `GET /api/jobs`. */
export function redactJobs(body: unknown, redacted: string): unknown {
  const jobs = (body as { jobs?: unknown } | null)?.jobs;
  if (!Array.isArray(jobs)) return body;
  return { ...(body as object), jobs: jobs.map((job) => redactJob(job, redacted)) };
}
