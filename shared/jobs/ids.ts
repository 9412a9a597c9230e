import { randomBytes } from "node:crypto";
import type { JobKind } from "./types.js";

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
