import { ErrorResponse, TimeoutError } from "@azure/cosmos";
import { describe, expect, it } from "vitest";
import { cosmosErrorStatus } from "../../shared/cosmos/errors.js";
import { classifyItem, classifyRequestFailure } from "../../shared/elastic/classify.js";
import type { ItemOutcome } from "../../shared/sync/ports.js";
import { bulkRequestFailure, itemFailureScope, readFailureScope } from "../../shared/resilience/classify.js";

/** What the bulk sink returns for a whole-request failure: every op gets the same verdict. */
function wholeRequest(statusCode: number | undefined, description: string, ops = 3): ItemOutcome[] {
  const verdict = classifyRequestFailure({ statusCode, type: undefined, description }, ops, 1000);
  if (verdict.outcome !== "retry") throw new Error(`expected retry, got ${verdict.outcome}`);
  return Array.from({ length: ops }, (_, i) => ({ member: `m${i}`, outcome: "retry", error: verdict.error }));
}

function items(...results: Parameters<typeof classifyItem>[1][]): ItemOutcome[] {
  return results.map((result, i) => {
    const verdict = classifyItem("index", result);
    if (verdict.outcome === "refused") throw new Error("the sink throws for a refused item; it is never an outcome");
    return verdict.outcome === "ok"
      ? { member: `m${i}`, outcome: "ok" }
      : { member: `m${i}`, outcome: verdict.outcome, error: verdict.error };
  });
}

describe("bulkRequestFailure (fed by the sink's own classification, so the two stay in step)", () => {
  it("calls a whole-request 429 throttling and no answer / 5xx / timeouts unavailability", () => {
    expect(
      bulkRequestFailure(wholeRequest(429, "429 circuit_breaking_exception: [in_flight_requests] Data too large")),
    ).toMatchObject({ scope: "throttled" });
    expect(
      bulkRequestFailure(wholeRequest(undefined, "ConnectionError: connect ECONNREFUSED 127.0.0.1:9200")),
    ).toMatchObject({ scope: "unavailable" });
    expect(bulkRequestFailure(wholeRequest(503, "503 cluster_block_exception: blocked"))).toMatchObject({
      scope: "unavailable",
    });
    expect(bulkRequestFailure(wholeRequest(undefined, "TimeoutError: Request timed out"))).toMatchObject({
      scope: "unavailable",
    });
  });

  it("marks a request that timed out, which may be one of its documents (shared/sync/bisect.ts), and nothing else", () => {
    expect(bulkRequestFailure(wholeRequest(undefined, "TimeoutError: Request timed out"))).toMatchObject({
      timedOut: true,
    });
    expect(
      bulkRequestFailure(wholeRequest(undefined, "ConnectionError: connect ECONNREFUSED 127.0.0.1:9200")),
    ).not.toHaveProperty("timedOut");
    expect(bulkRequestFailure(wholeRequest(504, "504 gateway timeout"))).not.toHaveProperty("timedOut");
  });

  it("calls every item shed by a loaded node throttling, and every item refused by the cluster state unavailability", () => {
    const rejected = {
      status: 429,
      error: { type: "es_rejected_execution_exception", reason: "rejected execution of coordinating operation" },
    };
    expect(bulkRequestFailure(items(rejected, rejected))).toMatchObject({ scope: "throttled" });
    const noShards = {
      status: 503,
      error: { type: "unavailable_shards_exception", reason: "primary shard is not active" },
    };
    expect(bulkRequestFailure(items(noShards, rejected))).toMatchObject({ scope: "unavailable" });
  });

  it("leaves alone responses in which items were judged one by one", () => {
    const conflict = {
      status: 400,
      error: { type: "document_parsing_exception", reason: "failed to parse field [n]" },
    };
    const rejected = { status: 429, error: { type: "es_rejected_execution_exception", reason: "queue full" } };
    expect(bulkRequestFailure(items({ status: 201 }, conflict))).toBeUndefined();
    expect(bulkRequestFailure(items({ status: 201 }, rejected))).toBeUndefined();
    expect(bulkRequestFailure(items(conflict, conflict))).toBeUndefined();
    expect(bulkRequestFailure([])).toBeUndefined();
    // A 413 for a batch is about the batch's size, not Elasticsearch's health.
    const tooBig = classifyRequestFailure({ statusCode: 413, type: undefined, description: "413" }, 2, 10_000_000);
    expect(
      bulkRequestFailure([{ member: "a", outcome: "retry", error: (tooBig as { error: string }).error }]),
    ).toBeUndefined();
  });
});

describe("itemFailureScope (a response that wrote some items and shed others)", () => {
  it("tells a shard that shed load, or is not there, from a document's own failure", () => {
    const [written, rejected, breaker, unassigned, conflict, mapping] = items(
      { status: 201 },
      { status: 429, error: { type: "es_rejected_execution_exception", reason: "rejected execution of write" } },
      { status: 429, error: { type: "circuit_breaking_exception", reason: "[parent] Data too large" } },
      { status: 503, error: { type: "unavailable_shards_exception", reason: "primary shard is not active" } },
      { status: 409, error: { type: "illegal_state_exception", reason: "another conflict" } },
      { status: 400, error: { type: "mapper_parsing_exception", reason: "failed to parse field [n]" } },
    );
    expect(
      [written, rejected, breaker, unassigned, conflict, mapping].map((outcome) => itemFailureScope(outcome!)),
    ).toEqual(["document", "throttled", "throttled", "unavailable", "document", "document"]);
    // None of these is a whole-request failure: the guard judges them item by item.
    expect(bulkRequestFailure([written!, rejected!, mapping!])).toBeUndefined();
  });
});

describe("Cosmos read failures", () => {
  it("takes the status and retry-after from the SDK's errors", () => {
    const throttled = Object.assign(new ErrorResponse("Request rate is large"), { code: 429, retryAfterInMs: 1200 });
    expect(cosmosErrorStatus(throttled)).toEqual({ statusCode: 429, retryAfterMs: 1200 });
    expect(cosmosErrorStatus(Object.assign(new ErrorResponse("bad"), { code: 400 }))).toEqual({ statusCode: 400 });
    expect(cosmosErrorStatus(new TimeoutError("timed out"))).toEqual({});
    expect(cosmosErrorStatus(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toEqual({});
  });

  it("scopes 429 as throttling, no answer / 5xx / refused credentials as unavailability, other 4xx as the document's", () => {
    const failed = (statusCode?: number) => ({
      member: "m",
      error: "x",
      ...(statusCode === undefined ? {} : { statusCode }),
    });
    expect(readFailureScope(failed(429))).toBe("throttled");
    for (const status of [undefined, 408, 401, 403, 500, 503])
      expect(readFailureScope(failed(status))).toBe("unavailable");
    for (const status of [400, 413]) expect(readFailureScope(failed(status))).toBe("document");
  });
});
