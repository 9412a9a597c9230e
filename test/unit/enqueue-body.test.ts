import { describe, expect, it } from "vitest";
import { commonEnqueueBody, schemaEnqueueBody } from "../../shared/api/enqueue-body.js";
import { enqueueKeys } from "../../shared/api/enqueue.js";
import { parseEnqueueBody } from "../../shared/api/index.js";
import { parseJsonBody } from "../../shared/api/request.js";
import { matchRoute } from "../../shared/api/routes.js";
import { loadConfig } from "../../shared/config/index.js";
import { ValidationError } from "../../shared/core/errors.js";
import { COMMON_BODIES, ENQUEUE_BODIES } from "../setup/enqueue-bodies.js";

const config = loadConfig({
  REDIS_URL: "redis://x",
  ELASTICSEARCH_URL: "http://x",
  COSMOS_ENDPOINT: "https://x",
  COSMOS_KEY: "k",
  DRIFTLESS_SOURCES: JSON.stringify([
    { name: "byid", database: "d", container: "c", partitionKeyPath: "/id", index: "byid" },
    { name: "bytenant", database: "d", container: "c", partitionKeyPath: "/tenant", index: "bytenant" },
    { name: "nested", database: "d", container: "c", partitionKeyPath: ["/a", "/b"], index: "nested" },
  ]),
});
const [byId, byTenant, nested] = config.sources as [
  (typeof config.sources)[0],
  (typeof config.sources)[0],
  (typeof config.sources)[0],
];

function rejection(body: string, source = byTenant, max = 10): ValidationError {
  try {
    parseEnqueueBody(body, source, max);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`accepted ${body}`);
}

describe("parseEnqueueBody", () => {
  it("accepts items with partition keys of every scalar type", () => {
    expect(
      parseEnqueueBody('{"items":[{"id":"a","pk":"t"},{"id":"b","pk":3},{"id":"c","pk":null}]}', byTenant, 10),
    ).toEqual([
      { id: "a", pk: "t" },
      { id: "b", pk: 3 },
      { id: "c", pk: null },
    ]);
  });

  it("accepts ids, and items without pk, where the partition key is the id", () => {
    expect(parseEnqueueBody('{"ids":["a","b"]}', byId, 10)).toEqual([
      { id: "a", pk: "a" },
      { id: "b", pk: "b" },
    ]);
    expect(parseEnqueueBody('{"items":[{"id":"a"}]}', byId, 10)).toEqual([{ id: "a", pk: "a" }]);
  });

  it("accepts hierarchical keys of the right length only", () => {
    expect(parseEnqueueBody('{"items":[{"id":"a","pk":["x","y"]}]}', nested, 10)).toEqual([
      { id: "a", pk: ["x", "y"] },
    ]);
    expect(rejection('{"items":[{"id":"a","pk":["x"]}]}', nested).code).toBe("invalid_partition_key");
    expect(rejection('{"items":[{"id":"a","pk":"x"}]}', nested).code).toBe("invalid_partition_key");
  });

  it.each([
    ["", "invalid_json", 400],
    ["{not json", "invalid_json", 400],
    ["[]", "invalid_body", 400],
    ['"items"', "invalid_body", 400],
    ['{"items":"a"}', "invalid_body", 400],
    ['{"items":[{"id":5,"pk":"t"}]}', "invalid_body", 400],
    ['{"items":[{"id":"","pk":"t"}]}', "invalid_body", 400],
    ['{"items":[{"id":"a/b","pk":"t"}]}', "invalid_body", 400],
    ['{"items":[{"id":"a","pk":{"x":1}}]}', "invalid_body", 400],
    ['{"items":[{"id":"a","pk":"t","extra":1}]}', "invalid_body", 400],
    ['{"items":[],"ids":[]}', "invalid_body", 400],
    ['{"items":[]}', "no_items", 400],
    ['{"items":[{"id":"a"}]}', "partition_key_required", 400],
    ['{"ids":["a"]}', "partition_key_required", 400],
    [
      JSON.stringify({ items: Array.from({ length: 11 }, (_, i) => ({ id: `d${i}`, pk: "t" })) }),
      "too_many_items",
      413,
    ],
  ])("rejects %s with %s", (body, code, status) => {
    const error = rejection(body);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
  });
});

/** What a parse gives: the keys, or the refusal's code, status and message. */
function outcome(parse: () => unknown) {
  try {
    return { keys: parse() };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { code: error.code, status: error.status, message: error.message };
  }
}

describe("the common bodies' fast path", () => {
  it.each(ENQUEUE_BODIES.map((body) => [body.slice(0, 80), body]))(
    "answers %s as the schema does, for every kind of source",
    (_, body) => {
      for (const source of [byId, byTenant, nested]) {
        const schemaOnly = outcome(() => enqueueKeys(schemaEnqueueBody(parseJsonBody(body)), source, 10));
        expect(
          outcome(() => parseEnqueueBody(body, source, 10)),
          source.name,
        ).toStrictEqual(schemaOnly);
      }
    },
  );

  it("takes the common shapes itself, with the schema's values", () => {
    for (const body of COMMON_BODIES) {
      const json = JSON.parse(body);
      expect(commonEnqueueBody(json), body).toStrictEqual(schemaEnqueueBody(json));
    }
  });

  it("leaves to the schema what it does not fully check", () => {
    for (const body of [
      '{"items":[{"id":"a","pk":{}}]}',
      '{"items":[{"id":"a","pk":["x","y"]}]}',
      '{"items":[{"id":"a","pk":1e400}]}',
      '{"items":[{"id":"a","__proto__":{}}]}',
      '{"items":[{"id":"a?b"}]}',
      '{"ids":["a",1]}',
      '{"items":[],"ids":[]}',
    ]) {
      expect(commonEnqueueBody(JSON.parse(body)), body).toBeUndefined();
    }
  });
});

describe("matchRoute", () => {
  it("matches routes with decoded parameters, and tells a wrong method from a missing route", () => {
    const match = matchRoute("POST", "sources/my%20src/enqueue");
    expect(match !== null && match !== "method_not_allowed" && [match.route.name, match.params]).toEqual([
      "enqueue",
      { source: "my src" },
    ]);
    expect(matchRoute("GET", "sources/x/enqueue")).toBe("method_not_allowed");
    expect(matchRoute("GET", "nowhere")).toBeNull();
    expect(matchRoute("POST", "sources/%E0%A4%A/enqueue")).toBeNull();
  });

  it("tells the jobs list from one job and its cancel", () => {
    const name = (method: string, path: string) => {
      const match = matchRoute(method, path);
      return match !== null && match !== "method_not_allowed" ? [match.route.name, match.params] : match;
    };
    expect(name("GET", "jobs")).toEqual(["jobs-list", {}]);
    expect(name("GET", "jobs/")).toEqual(["jobs-list", {}]);
    expect(name("GET", "jobs/reimport-src-1")).toEqual(["job-status", { jobId: "reimport-src-1" }]);
    expect(name("POST", "jobs/reimport-src-1/cancel")).toEqual(["job-cancel", { jobId: "reimport-src-1" }]);
    expect(name("POST", "jobs")).toBe("method_not_allowed");
  });
});
