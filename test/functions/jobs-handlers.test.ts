import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../../shared/jobs/types.js";
import { differences } from "../setup/compare.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import type { HttpFunction } from "../../functions/http.js";
import { invocationContext, onTimeTimer } from "../setup/invocation.js";

const { HttpRequest } = functions;
const DOCS = 300;
const BUDGET_MS = 1500;

/** The job functions called as the host calls them: HTTP handlers, and the timers that run jobs in chunks. */
describe("Azure Functions job handlers", () => {
  let source: TestSource;
  let fn: {
    reimport: HttpFunction;
    reconcile: HttpFunction;
    jobStatus: HttpFunction;
    jobCancel: HttpFunction;
    jobsList: HttpFunction;
    jobsTimer: typeof import("../../functions/jobs-timer.js").jobsTimer;
    reconcileTimer: typeof import("../../functions/reconcile-timer.js").reconcileTimer;
  };

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_TIME_BUDGET_MS: String(BUDGET_MS), REIMPORT_PAGE_SIZE: "40" } });
    // Handlers read their settings from the environment, as in the Functions host.
    Object.assign(process.env, source.env);
    const { httpFunction } = await import("../../functions/http.js");
    fn = {
      reimport: httpFunction("reimport"),
      reconcile: httpFunction("reconcile"),
      jobStatus: httpFunction("job-status"),
      jobCancel: httpFunction("job-cancel"),
      jobsList: httpFunction("jobs-list"),
      ...(await import("../../functions/jobs-timer.js")),
      ...(await import("../../functions/reconcile-timer.js")),
    };
    await createDocuments(source.container, makeDocs(DOCS));
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  const timer = onTimeTimer;
  const context = invocationContext;
  const request = (method: string, path: string, params: Record<string, string>, body?: string) =>
    new HttpRequest({
      method,
      url: `http://localhost:7071/api/${path}`,
      params,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: { string: body } }),
    });
  const status = async (jobId: string) => {
    const response = await fn.jobStatus(request("GET", `jobs/${jobId}`, { jobId }), context("job-status"));
    expect(response.status).toBe(200);
    return response.jsonBody as JobView;
  };
  /** Timer ticks until the job ends; each tick must end within its budget (plus a page and the slack of a loaded machine). */
  const tickUntilDone = async (jobId: string) => {
    for (let tick = 1; tick <= 30; tick++) {
      const started = Date.now();
      await fn.jobsTimer(timer, context("jobs-timer"));
      expect(Date.now() - started).toBeLessThan(BUDGET_MS + 10_000);
      const view = await status(jobId);
      if (["succeeded", "failed", "cancelled"].includes(view.state)) return view;
    }
    throw new Error(`job ${jobId} did not end in 30 ticks`);
  };

  it("reimport validates its input, queues a job, and the jobs timer runs it to the end in budgeted chunks", async () => {
    const bad = await fn.reimport(
      request("POST", `sources/${source.name}/reimport`, { source: source.name }, '{"mode":"twice"}'),
      context("reimport"),
    );
    expect(bad).toMatchObject({ status: 400, jsonBody: { error: { code: "invalid_body" } } });
    const unknown = await fn.reimport(
      request("POST", "sources/nope/reimport", { source: "nope" }, "{}"),
      context("reimport"),
    );
    expect(unknown).toMatchObject({ status: 404, jsonBody: { error: { code: "unknown_source" } } });
    const missing = await fn.jobStatus(request("GET", "jobs/x", { jobId: "x" }), context("job-status"));
    expect(missing).toMatchObject({ status: 404, jsonBody: { error: { code: "job_not_found" } } });

    const started = await fn.reimport(
      request("POST", `sources/${source.name}/reimport`, { source: source.name }, ""),
      context("reimport"),
    );
    expect(started.status).toBe(202);
    const { jobId } = started.jsonBody as { jobId: string };
    expect(await status(jobId)).toMatchObject({ state: "queued", scanned: 0, startedAt: null });

    const done = await tickUntilDone(jobId);
    expect(done).toMatchObject({ state: "succeeded", scanned: DOCS, indexed: DOCS, pages: Math.ceil(DOCS / 40) });
    expect(await differences(source)).toEqual([]);

    const cancel = await fn.jobCancel(request("POST", `jobs/${jobId}/cancel`, { jobId }), context("job-cancel"));
    expect(cancel).toMatchObject({ status: 409, jsonBody: { error: { code: "job_finished" } } });
  });

  it("the reconcile timer queues one reconcile per source, skips a source whose reconcile is active, and the jobs timer runs it", async () => {
    await fn.reconcileTimer(timer, context("reconcile-timer"));
    await fn.reconcileTimer(timer, context("reconcile-timer")); // still active: skipped, no error
    const { getServices } = await import("../../functions/lib/services.js");
    const jobs = await (await getServices()).jobs.list(source.name);
    const reconciles = jobs.filter((job) => job.kind === "reconcile");
    expect(reconciles).toHaveLength(1);
    expect(await tickUntilDone(reconciles[0]!.id)).toMatchObject({ state: "succeeded", scanned: DOCS, missing: 0 });

    // The HTTP route queues one too; cancelling it while queued ends it at once.
    const started = await fn.reconcile(
      request("POST", `sources/${source.name}/reconcile`, { source: source.name }),
      context("reconcile"),
    );
    expect(started.status).toBe(202);
    const { jobId } = started.jsonBody as { jobId: string };
    const cancelled = await fn.jobCancel(request("POST", `jobs/${jobId}/cancel`, { jobId }), context("job-cancel"));
    expect(cancelled).toMatchObject({ status: 202, jsonBody: { jobId, state: "cancelled", cancelRequested: true } });
  });

  it("jobs-list answers the recent jobs newest first, and refuses an unknown source or a bad limit", async () => {
    const list = async (query: string) => {
      const response = await fn.jobsList(request("GET", `jobs${query}`, {}), context("jobs-list"));
      return { status: response.status, body: response.jsonBody as { jobs: JobView[]; error?: { code: string } } };
    };
    // The jobs of the tests above, as the service lists them (the routes queued them in this order).
    const { getServices } = await import("../../functions/lib/services.js");
    const services = await getServices();
    const expected = (await services.jobs.list(source.name)).map((job) => services.jobs.toView(job));
    expect(expected.map((job) => [job.kind, job.state])).toEqual([
      ["reconcile", "cancelled"],
      ["reconcile", "succeeded"],
      ["reimport", "succeeded"],
    ]);

    const all = await list(`?source=${source.name}`);
    expect(all).toEqual({ status: 200, body: { jobs: expected } });
    const createdAt = all.body.jobs.map((job) => Date.parse(job.createdAt));
    expect(createdAt).toEqual([...createdAt].sort((a, b) => b - a));
    expect(all.body.jobs[2]).toMatchObject({
      kind: "reimport",
      mode: "in-place",
      scanned: DOCS,
      indexed: DOCS,
      finishedAt: expect.any(String),
    });

    expect(await list(`?source=${source.name}&limit=1`)).toEqual({ status: 200, body: { jobs: expected.slice(0, 1) } });
    expect(await list(`?source=${encodeURIComponent(source.name)}&limit=100`)).toEqual({
      status: 200,
      body: { jobs: expected },
    });
    // Without a source: every source's jobs (this host has one).
    expect(await list("")).toEqual({ status: 200, body: { jobs: expected } });

    for (const query of ["?source=nope", "?source=", "?source=nope&limit=0"]) {
      expect(await list(query), query).toMatchObject({ status: 404, body: { error: { code: "unknown_source" } } });
    }
    for (const limit of ["0", "101", "-1", "1.5", "abc", "", "1e1", "%20", "99999999999"]) {
      expect(await list(`?source=${source.name}&limit=${limit}`), limit).toMatchObject({
        status: 400,
        body: { error: { code: "invalid_query" } },
      });
    }
  });
});
