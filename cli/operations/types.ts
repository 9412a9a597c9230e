import type { JobKind } from "../../shared/jobs/types.js";

/** A route call as the CLI makes it: the route's parameters, query and raw JSON body. */
export interface RouteCall {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: URLSearchParams;
  readonly body?: string;
}

/**
 * What the operator commands (status, jobs, deadletters, enqueue, reimport, reconcile) need, as
 * one port with two adapters: `local` runs the HTTP API's routes in this process against Redis,
 * Cosmos DB and Elasticsearch; `remote` calls the HTTP API of a deployment. A command is written
 * once against this and answers the same either way: same output, same errors, same exit codes.
 */
export interface Operations {
  /** Where the commands run, for the messages that differ ("continues where jobs run"). */
  readonly where: "local" | "remote";
  /** Calls a route of the HTTP API by name (shared/api/routes.ts): its answer's body, or its error thrown as a DriftlessError. */
  call(route: string, request?: RouteCall): Promise<unknown>;
  /** Starts a reimport or reconcile job: `{ jobId }`. */
  startJob(kind: JobKind, source: string, mode?: "in-place" | "rebuild"): Promise<{ jobId: string }>;
  /**
   * Works on the job until it ends or `signal` aborts. Local: this process runs the job's chunks
   * too, so `--wait` finishes where no worker runs jobs. Remote: nothing, the deployment runs it.
   */
  workOnJob(jobId: string, signal: AbortSignal): Promise<void>;
  /** Documents in a source's index, for the progress estimate; undefined when not known. */
  documentCount(source: string): Promise<number | undefined>;
}
