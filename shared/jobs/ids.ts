import { randomBytes } from "node:crypto";
import { queueKeys } from "../queue/keys.js";
import type { JobKind } from "./types.js";

/**
 * Every Redis key of one source's jobs. They share the queue's hash tag `{source}`, so each job
 * script touches one cluster slot.
 */
export interface JobKeys {
  /** Hash: the job's fields (see store.ts). */
  job(jobId: string): string;
  /** Sorted set: job id → creation time, for listing. */
  readonly list: string;
  /** String: the id of the active (queued or running) job of this kind; one per source and kind. */
  active(kind: JobKind): string;
  /** String with a TTL: the token of the runner working on this kind's active job. */
  lease(kind: JobKind): string;
  /** String: the extra alias live writes go to while a rebuild runs (write-targets.ts). */
  readonly writeTarget: string;
}

export function jobKeys(prefix: string, source: string): JobKeys {
  queueKeys(prefix, source); // validates both names the way the queue does
  const base = `${prefix}:{${source}}:jobs`;
  return Object.freeze({
    job: (jobId: string) => `${base}:job:${jobId}`,
    list: `${base}:list`,
    active: (kind: JobKind) => `${base}:active:${kind}`,
    lease: (kind: JobKind) => `${base}:lease:${kind}`,
    writeTarget: `${base}:write-target`,
  });
}

/**
 * `<kind>-<source>-<time base36>-<8 hex>`. The source is part of the id so that
 * `GET /api/jobs/{jobId}` finds the job's keys (they live in the source's slot) without an index.
 */
export function newJobId(kind: JobKind, source: string, now: number): string {
  return `${kind}-${source}-${now.toString(36)}-${randomBytes(4).toString("hex")}`;
}

const JOB_ID = /^(reimport|reconcile)-([a-z0-9][a-z0-9_-]{0,62})-([0-9a-z]{1,12})-([0-9a-f]{8})$/;

/** The kind and source of a job id, or undefined when it is not one driftless made. */
export function parseJobId(jobId: string): { kind: JobKind; source: string } | undefined {
  const match = JOB_ID.exec(jobId);
  if (!match) return undefined;
  return { kind: match[1] as JobKind, source: match[2]! };
}
