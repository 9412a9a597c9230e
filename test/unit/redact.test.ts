import { describe, expect, it } from "vitest";
import { routeNamed, routes, withoutDetails } from "../../shared/api/index.js";

const TEXT = "redacted: for the test";

describe("what anonymous routes show a caller without a key", () => {
  it("every anonymous route either answers without error text or redacts it", () => {
    // Counts, names and states only (docs/api.md). A new anonymous route must join this
    // list after a look at its answer, or get a `redact`.
    const plain = ["status", "status-page", "source-stats", "source-history", "live", "ready"];
    expect(
      routes
        .filter((route) => route.auth === "anonymous" && !route.redact)
        .map((route) => route.name)
        .sort(),
    ).toEqual([...plain].sort());
    expect(
      routes
        .filter((route) => route.redact)
        .map((route) => route.name)
        .sort(),
    ).toEqual(["health", "job-status", "jobs-list"]);
    expect(routes.filter((route) => route.auth === "key" && route.redact)).toEqual([]);
  });

  it("health keeps ok and latency, and replaces a failing check's error", () => {
    const body = {
      status: "degraded",
      checks: {
        redis: { ok: true, latencyMs: 1 },
        elasticsearch: { ok: false, latencyMs: 9, error: "connect ECONNREFUSED 10.1.2.3:9200" },
      },
    };
    expect(withoutDetails(routeNamed("health"), { status: 503, body }, TEXT)).toEqual({
      status: 503,
      body: {
        status: "degraded",
        checks: { redis: { ok: true, latencyMs: 1 }, elasticsearch: { ok: false, latencyMs: 9, error: TEXT } },
      },
    });
  });

  it("a job keeps everything but its lastError, alone and in the list; null stays null", () => {
    const failed = {
      jobId: "j1",
      state: "failed",
      scanned: 3,
      lastError: 'document_parsing_exception: … "secret": "x"',
    };
    const fine = { jobId: "j2", state: "succeeded", scanned: 5, lastError: null };
    expect(withoutDetails(routeNamed("job-status"), { status: 200, body: failed }, TEXT).body).toEqual({
      ...failed,
      lastError: TEXT,
    });
    expect(withoutDetails(routeNamed("job-status"), { status: 200, body: fine }, TEXT).body).toEqual(fine);
    expect(withoutDetails(routeNamed("jobs-list"), { status: 200, body: { jobs: [failed, fine] } }, TEXT).body).toEqual(
      { jobs: [{ ...failed, lastError: TEXT }, fine] },
    );
  });

  it("leaves error answers and routes without redact as they are", () => {
    const notFound = { status: 404, body: { error: { code: "job_not_found", message: "no job" } } };
    expect(withoutDetails(routeNamed("job-status"), notFound, TEXT)).toEqual(notFound);
    const status = { status: 200, body: { sources: [] } };
    expect(withoutDetails(routeNamed("status"), status, TEXT)).toBe(status);
  });
});
