import { describe, expect, it } from "vitest";
import { documentId } from "../../shared/sync/mapper.js";
import { checkConfig, loadConfig } from "../../shared/config/index.js";
import { BASE_ENV, configError } from "../setup/config-env.js";

const orders = { name: "orders", database: "shop", container: "orders", partitionKeyPath: "/tenant", index: "orders" };
const events = { ...orders, name: "events", container: "events", index: "events", target: "search" };
const search = {
  engine: "opensearch",
  url: "https://search.example:9200",
  usernameEnv: "SEARCH_USER",
  passwordEnv: "SEARCH_PASSWORD",
};

const envWith = (file: unknown, env: Record<string, string> = {}) => ({
  ...BASE_ENV,
  DRIFTLESS_SOURCES: JSON.stringify(file),
  ...env,
});
const load = (file: unknown, env: Record<string, string> = {}) => loadConfig(envWith(file, env));
const problem = (file: unknown, env: Record<string, string> = {}): string => configError(envWith(file, env)).message;

describe("search targets in the sources file", () => {
  it("reads the targets map, their secrets from the named environment variables, and each source's target", () => {
    const config = load(
      { targets: { search }, sources: [orders, events] },
      { SEARCH_USER: "indexer", SEARCH_PASSWORD: "s3cret-value" },
    );
    expect(config.targets).toEqual({
      search: {
        engine: "opensearch",
        node: "https://search.example:9200",
        username: "indexer",
        password: "s3cret-value",
        apiKey: undefined,
        caFile: undefined,
      },
    });
    expect(config.sources.map((source) => [source.name, source.target])).toEqual([
      ["orders", undefined],
      ["events", "search"],
    ]);
  });

  it("keeps the plain list (and the single object) meaning no targets", () => {
    expect(load([orders]).targets).toEqual({});
    expect(load(orders).sources.map((source) => source.name)).toEqual(["orders"]);
  });

  it("refuses a source naming an unknown target, naming the source and the known targets", () => {
    const message = problem(
      { targets: { search }, sources: [orders, { ...events, target: "serach" }] },
      {
        SEARCH_USER: "u",
        SEARCH_PASSWORD: "p",
      },
    );
    expect(message).toMatch(/DRIFTLESS_SOURCES\.sources\[1\]\.target/);
    expect(message).toMatch(/source "events": unknown target "serach" \(known: "default", "search"\)/);
    // Without a targets map at all, any target but "default" is unknown.
    expect(problem([{ ...events }])).toMatch(/unknown target "search" \(known: "default"\)/);
    expect(load([{ ...events, target: "default" }]).sources[0]!.target).toBe("default");
  });

  it("says which environment variable is missing, never a value", () => {
    const message = problem({ targets: { search }, sources: [events] }, { SEARCH_USER: "indexer-name" });
    expect(message).toMatch(/target "search": environment variable SEARCH_PASSWORD is not set/);
    expect(message).not.toContain("indexer-name");
  });

  it.each([
    ["credentials in the URL", { ...search, url: "https://u:p@search.example" }, /no credentials in the URL/],
    ["an API key for OpenSearch", { engine: "opensearch", url: "http://h:9200", apiKeyEnv: "K" }, /no API keys/],
    [
      "a username without a password",
      { engine: "elasticsearch", url: "http://h:9200", usernameEnv: "U" },
      /go together/,
    ],
    ["an unknown engine", { engine: "solr", url: "http://h:9200" }, /engine/],
    ["a secret in the file", { ...search, password: "inline" }, /password/],
  ])("refuses %s", (_what, target, pattern) => {
    expect(problem({ targets: { search: target }, sources: [events] }, { U: "u", K: "k" })).toMatch(pattern);
  });

  it("refuses redefining the default target and unknown top-level fields", () => {
    expect(problem({ targets: { default: search }, sources: [orders] })).toMatch(/"default" is the ELASTICSEARCH_\*/);
    expect(problem({ target: {}, sources: [orders] })).toMatch(/unknown top-level field target/);
  });

  it("lets two sources use one alias name on two targets, not on one", () => {
    const env = { SEARCH_USER: "u", SEARCH_PASSWORD: "p" };
    const twin = { ...events, index: "orders" };
    expect(load({ targets: { search }, sources: [orders, twin] }, env).sources).toHaveLength(2);
    expect(problem({ targets: { search }, sources: [orders, { ...twin, target: undefined }] }, env)).toMatch(
      /index "orders" is also the index of source "orders"/,
    );
  });

  it("config check reports a missing target secret with the other problems", () => {
    const report = checkConfig({
      ...BASE_ENV,
      DRIFTLESS_SOURCES: JSON.stringify({ targets: { search }, sources: [events] }),
    });
    expect(report.problems.map((p) => p.setting)).toContain("DRIFTLESS_SOURCES.targets.search");
  });
});

describe("sources sharing one index", () => {
  const catalogA = {
    ...orders,
    index: "catalog",
    sharedIndex: true,
    mapping: { properties: { sku: { type: "keyword" } } },
  };
  const catalogB = { ...catalogA, name: "returns", container: "returns" };

  it("lets sources share an alias when every one opts in, with their id prefixes", () => {
    const config = load([catalogA, { ...catalogB, sharedIndex: { idPrefix: "ret/" } }]);
    expect(config.sources.map((source) => source.sharedIndex)).toEqual([{}, { idPrefix: "ret/" }]);
  });

  it("refuses a shared alias that one source did not opt in to", () => {
    expect(problem([catalogA, { ...catalogB, sharedIndex: undefined }])).toMatch(
      /index "catalog" is also the index of source "orders".*both set "sharedIndex"/,
    );
  });

  it("refuses conflicting mappings, different settings and prefixes that can meet", () => {
    expect(problem([catalogA, { ...catalogB, mapping: { properties: { sku: { type: "long" } } } }])).toMatch(
      /\[1\]\.mapping: mapping\.properties\.sku: source "returns" shares index "catalog" with source "orders", which maps the field differently/,
    );
    expect(
      problem([
        { ...catalogA, settings: { number_of_shards: 1 } },
        { ...catalogB, settings: { number_of_shards: 2 } },
      ]),
    ).toMatch(/with other index settings/);
    // "ret" + "urns:42" is "returns:" + "42".
    expect(problem([{ ...catalogA, sharedIndex: { idPrefix: "ret" } }, catalogB])).toMatch(
      /id prefixes "returns:" and "ret" can make one _id/,
    );
  });

  it("lets one alias name be shared on one target and be another source's own on another", () => {
    const env = { SEARCH_USER: "u", SEARCH_PASSWORD: "p" };
    const config = load(
      {
        targets: { search },
        sources: [catalogA, catalogB, { ...catalogB, name: "mirror", sharedIndex: undefined, target: "search" }],
      },
      env,
    );
    expect(config.sources).toHaveLength(3);
  });
});

describe("documentId of a shared-index source", () => {
  it("qualifies the id by source, or by the configured prefix, and leaves other sources' ids alone", () => {
    const key = { id: "42", pk: "t" };
    expect(documentId({ name: "orders", documentId: "id", sharedIndex: {} }, key)).toBe("orders:42");
    expect(documentId({ name: "orders", documentId: "partitionKeyAndId", sharedIndex: { idPrefix: "o/" } }, key)).toBe(
      'o/"t":42',
    );
    expect(documentId({ name: "orders", documentId: "id", sharedIndex: undefined }, key)).toBe("42");
  });
});
