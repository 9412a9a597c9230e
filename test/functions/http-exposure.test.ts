import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../shared/runtime/services.js";
import type { JobView } from "../../shared/jobs/types.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import type { HttpFunction } from "../../functions/http.js";
import { invocationContext } from "../setup/invocation.js";

const { HttpRequest } = functions;

/** What the HTTP functions take and show, called as the host calls them (it checks the function keys before them). */
describe("Azure Functions HTTP handlers: what a caller can send and see", () => {
  let source: TestSource;
  let services: Services;
  let fn: {
    purge: HttpFunction;
    enqueue: HttpFunction;
    jobStatus: HttpFunction;
    jobsList: HttpFunction;
  };

  beforeAll(async () => {
    source = await createTestSource();
    Object.assign(process.env, source.env);
    const { httpFunction } = await import("../../functions/http.js");
    fn = {
      purge: httpFunction("deadletters-purge"),
      enqueue: httpFunction("enqueue"),
      jobStatus: httpFunction("job-status"),
      jobsList: httpFunction("jobs-list"),
    };
    services = await (await import("../../functions/lib/services.js")).getServices();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  const context = invocationContext;
  const post = (path: string, params: Record<string, string>, body: string, headers: Record<string, string>) =>
    new HttpRequest({
      method: "POST",
      url: `http://localhost:7071/api/${path}`,
      params,
      headers,
      body: { string: body },
    });
  const queue = () => services.sources.get(source.name)!.queue;

  it("a state-changing route takes JSON only, as in worker mode: 415 for text/plain, a form, or no type", async () => {
    await queue().enqueue([{ id: "victim", pk: "t" }], { lane: "live", now: Date.now() });
    const claim = await queue().claim({ max: 1, leaseMs: 10_000, now: Date.now() });
    await queue().deadLetter(
      claim.token,
      claim.items.map((item) => ({ member: item.member, error: "kept for the test" })),
      Date.now(),
    );
    const purgePath = `sources/${source.name}/deadletters/purge`;
    const params = { source: source.name };
    for (const headers of [
      { "content-type": "text/plain" },
      { "content-type": "application/x-www-form-urlencoded" },
      {},
    ] as Record<string, string>[]) {
      const response = await fn.purge(post(purgePath, params, '{"all":true}', headers), context("deadletters-purge"));
      expect(response, JSON.stringify(headers)).toEqual({
        status: 415,
        jsonBody: { error: { code: "unsupported_media_type", message: expect.any(String) } },
      });
    }
    expect((await queue().stats(Date.now())).deadLettered).toBe(1);
    const purged = await fn.purge(
      post(purgePath, params, '{"all":true}', { "content-type": "application/json" }),
      context("deadletters-purge"),
    );
    expect(purged).toEqual({ status: 200, jsonBody: { purged: 1 } });
    const enqueued = await fn.enqueue(
      post(`sources/${source.name}/enqueue`, params, '{"ids":["a"]}', { "content-type": "text/plain" }),
      context("enqueue"),
    );
    expect(enqueued.status).toBe(415);
  });

  it("anonymous routes never show a job's last error (the host checks no key there)", async () => {
    // A reimport that fails for real: nothing here created the source's index.
    await createDocuments(source.container, makeDocs(3));
    const { id } = await services.jobs.start("reimport", source.name);
    await eventually(async () => expect((await services.jobs.runChunk(id, 10_000)).job?.state).toBe("failed"));
    const get = (path: string, params: Record<string, string>, query = "") =>
      new HttpRequest({ method: "GET", url: `http://localhost:7071/api/${path}${query}`, params });
    const redacted = "redacted: see the function logs or the driftless CLI";

    const job = await fn.jobStatus(get(`jobs/${id}`, { jobId: id }), context("job-status"));
    expect(job).toMatchObject({ status: 200, jsonBody: { jobId: id, state: "failed", lastError: redacted } });
    const list = await fn.jobsList(get("jobs", {}, `?source=${source.name}`), context("jobs-list"));
    expect((list.jsonBody as { jobs: JobView[] }).jobs.find((entry) => entry.jobId === id)).toMatchObject({
      lastError: redacted,
    });
    // A key in the request changes nothing on an anonymous route: the host did not check it.
    const withCode = await fn.jobStatus(
      get(`jobs/${id}`, { jobId: id }, "?code=some-function-key"),
      context("job-status"),
    );
    expect((withCode.jsonBody as JobView).lastError).toBe(redacted);
    expect((await services.jobs.get(id))?.lastError).toContain("no alias");
  });
});
