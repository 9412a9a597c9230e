import { describe, expect, it } from "vitest";
import {
  classifyItem,
  classifyRequestFailure,
  formatReason,
  MAX_REASON_LENGTH,
  type BulkItemResult,
} from "../../shared/elastic/classify.js";

// Item shapes captured from Elasticsearch 8.19.7 `_bulk` responses (the `items[i]` value under its action key).
const created: BulkItemResult = {
  _index: "probe-1",
  _id: "a",
  _version: 5,
  result: "created",
  _shards: { total: 1, successful: 1, failed: 0 },
  _seq_no: 0,
  _primary_term: 1,
  status: 201,
} as BulkItemResult;

const versionConflict = {
  _index: "probe-1",
  _id: "a",
  status: 409,
  error: {
    type: "version_conflict_engine_exception",
    reason: "[a]: version conflict, current version [5] is higher than the one provided [3]",
    index_uuid: "VIAnKK5ITf2qxJHqFgK3RA",
    shard: "0",
    index: "probe-1",
  },
} as BulkItemResult;

const mappingConflict = {
  _index: "probe-1",
  _id: "b",
  status: 400,
  error: {
    type: "document_parsing_exception",
    reason:
      "[1:6] failed to parse field [n] of type [integer] in document with id 'b'. Preview of field's value: 'abc'",
    caused_by: { type: "number_format_exception", reason: 'For input string: "abc"' },
  },
} as BulkItemResult;

const deleteMissing = {
  _index: "probe-1",
  _id: "zz",
  _version: 3,
  result: "not_found",
  _shards: { total: 1, successful: 1, failed: 0 },
  _seq_no: 1,
  _primary_term: 1,
  status: 404,
} as BulkItemResult;

const aliasMissing = {
  _index: "nosuch",
  _id: "a",
  status: 404,
  error: {
    type: "index_not_found_exception",
    reason: "no such index [nosuch] and [require_alias] request flag is [true] and [nosuch] is not an alias",
    index_uuid: "_na_",
    index: "nosuch",
  },
} as BulkItemResult;

const duplicateField = {
  _index: "probe-1",
  _id: "c",
  status: 400,
  error: {
    type: "document_parsing_exception",
    reason:
      '[1:6] failed to parse: [1:11] Duplicate field \'n\'\n at [Source: (byte[])"{"n":1,"n":2}"; line: 1, column: 11]',
    caused_by: {
      type: "x_content_parse_exception",
      reason: '[1:11] Duplicate field \'n\'\n at [Source: (byte[])"{"n":1,"n":2}"; line: 1, column: 11]',
    },
  },
} as BulkItemResult;

// Documented shapes of throttling and overload (not reproducible on a single idle node).
const rejected: BulkItemResult = {
  status: 429,
  error: {
    type: "es_rejected_execution_exception",
    reason: "rejected execution of coordinating operation [coordinating_and_primary_bytes=0]",
  },
};
const shardUnavailable: BulkItemResult = {
  status: 503,
  error: { type: "unavailable_shards_exception", reason: "[probe-1][0] primary shard is not active Timeout: [1m]" },
};
const readOnlyBlock: BulkItemResult = {
  status: 403,
  error: { type: "cluster_block_exception", reason: "index [probe-1] blocked by: [FORBIDDEN/8/index write (api)];" },
};

/**
 * A per-item privilege failure, as Elasticsearch 8 sends it when the API key may not write the
 * index (security is off in the test cluster, so this one is written from Elasticsearch's
 * AuthorizationService message, not captured).
 */
const unauthorizedItem = {
  _index: "probe-1",
  _id: "a",
  status: 403,
  error: {
    type: "security_exception",
    reason:
      "action [indices:data/write/bulk[s]] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [driftless] " +
      "on indices [probe-1], this action is granted by the index privileges [create_doc,create,delete,index,write,all]",
  },
} as BulkItemResult;

describe("classifyItem", () => {
  it("treats 2xx as ok", () => {
    expect(classifyItem("index", created)).toEqual({ outcome: "ok" });
    expect(classifyItem("delete", { status: 200, result: "deleted" })).toEqual({ outcome: "ok" });
  });

  it("treats a version conflict as ok: a newer version is already in the index", () => {
    expect(classifyItem("index", versionConflict)).toEqual({ outcome: "ok" });
    expect(classifyItem("delete", versionConflict)).toEqual({ outcome: "ok" });
  });

  it("treats a delete of a missing document as ok, but not a 404 on index", () => {
    expect(classifyItem("delete", deleteMissing)).toEqual({ outcome: "ok" });
    expect(classifyItem("index", { status: 404 })).toMatchObject({ outcome: "dead" });
  });

  it("flags a missing alias as retry + indexMissing, for index and delete alike", () => {
    const verdict = classifyItem("index", aliasMissing);
    expect(verdict).toMatchObject({ outcome: "retry", indexMissing: true });
    expect(classifyItem("delete", aliasMissing)).toMatchObject({ outcome: "retry", indexMissing: true });
  });

  it("retries throttling, server errors and blocks that pass by themselves", () => {
    expect(classifyItem("index", rejected)).toMatchObject({
      outcome: "retry",
      error: expect.stringMatching(/^es_rejected_execution_exception: /),
    });
    expect(classifyItem("index", shardUnavailable)).toMatchObject({ outcome: "retry" });
    const notRecovered = {
      status: 503,
      error: {
        type: "cluster_block_exception",
        reason: "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
      },
    };
    expect(classifyItem("index", notRecovered)).toMatchObject({ outcome: "retry" });
    expect(classifyItem("index", { status: 500, error: { type: "whatever" } })).toMatchObject({ outcome: "retry" });
    expect(classifyItem("index", { status: 409, error: { type: "something_else" } })).toMatchObject({
      outcome: "retry",
    });
  });

  it("refuses a per-item 401/403 (missing index privilege, write block): no document can fix it", () => {
    expect(classifyItem("index", unauthorizedItem)).toEqual({
      outcome: "refused",
      statusCode: 403,
      error: expect.stringMatching(
        /^security_exception: action \[indices:data\/write\/bulk\[s\]\] is unauthorized for API key id/,
      ),
    });
    expect(classifyItem("delete", unauthorizedItem)).toMatchObject({ outcome: "refused", statusCode: 403 });
    expect(
      classifyItem("index", {
        status: 401,
        error: { type: "security_exception", reason: "unable to authenticate with provided credentials" },
      }),
    ).toMatchObject({
      outcome: "refused",
      statusCode: 401,
    });
    expect(classifyItem("index", readOnlyBlock)).toEqual({
      outcome: "refused",
      statusCode: 403,
      error: "cluster_block_exception: index [probe-1] blocked by: [FORBIDDEN/8/index write (api)];",
    });
  });

  it("dead-letters other 4xx with `type: reason (caused by …)` on one line", () => {
    expect(classifyItem("index", mappingConflict)).toEqual({
      outcome: "dead",
      error:
        "document_parsing_exception: [1:6] failed to parse field [n] of type [integer] in document with id 'b'. " +
        "Preview of field's value: 'abc' (caused by number_format_exception: For input string: \"abc\")",
    });
    const duplicate = classifyItem("index", duplicateField);
    expect(duplicate.outcome).toBe("dead");
    expect(duplicate).not.toHaveProperty("error", expect.stringContaining("\n"));
  });

  it("retries a position the response has no item for", () => {
    expect(classifyItem("index", undefined)).toMatchObject({ outcome: "retry" });
  });
});

describe("classifyRequestFailure", () => {
  const failure = (statusCode: number | undefined, description = "x") => ({ statusCode, type: undefined, description });

  it("retries every item on no response, timeouts, 429 and 5xx", () => {
    for (const status of [undefined, 408, 429, 500, 502, 503, 504]) {
      expect(classifyRequestFailure(failure(status, "ConnectionError: connect ECONNREFUSED"), 3, 100)).toMatchObject({
        outcome: "retry",
        error: expect.stringContaining("bulk request failed"),
      });
    }
  });

  it("retries a too-large batch with advice to split, and dead-letters a too-large single document", () => {
    expect(classifyRequestFailure(failure(413), 5, 200_000_000)).toMatchObject({
      outcome: "retry",
      error: expect.stringContaining("smaller batches"),
    });
    expect(classifyRequestFailure(failure(413), 1, 200_000_000)).toMatchObject({
      outcome: "dead",
      error: expect.stringContaining("too large"),
    });
  });

  it("throws for what no document can fix: auth, a bad request, a missing path", () => {
    for (const status of [400, 401, 403, 404]) {
      expect(classifyRequestFailure(failure(status), 3, 100)).toEqual({ outcome: "throw" });
    }
  });
});

describe("formatReason", () => {
  it("truncates to MAX_REASON_LENGTH", () => {
    const reason = formatReason({ type: "illegal_argument_exception", reason: "x".repeat(2000) });
    expect(reason).toHaveLength(MAX_REASON_LENGTH);
    expect(reason.startsWith("illegal_argument_exception: xxx")).toBe(true);
    expect(reason.endsWith("…")).toBe(true);
  });

  it("uses the type alone when there is no reason", () => {
    expect(formatReason({ type: "illegal_state_exception", reason: null })).toBe("illegal_state_exception");
  });
});
