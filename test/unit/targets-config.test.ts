import { describe, expect, it } from "vitest";
import { ConfigError } from "../../shared/core/errors.js";
import { checkConfig, loadConfig } from "../../shared/config/index.js";

const base = {
  REDIS_URL: "redis://localhost:6379",
  ELASTICSEARCH_URL: "http://localhost:9200",
  COSMOS_ENDPOINT: "https://localhost:8081",
  COSMOS_KEY: "c2VjcmV0LWtleS1mb3ItdGVzdHM=",
};
const orders = { name: "orders", database: "shop", container: "orders", partitionKeyPath: "/tenant", index: "orders" };
const events = { ...orders, name: "events", container: "events", index: "events", target: "search" };
const search = {
  engine: "opensearch",
  url: "https://search.example:9200",
  usernameEnv: "SEARCH_USER",
  passwordEnv: "SEARCH_PASSWORD",
};

function load(file: unknown, env: Record<string, string> = {}) {
  return loadConfig({ ...base, DRIFTLESS_SOURCES: JSON.stringify(file), ...env });
}

function problem(file: unknown, env: Record<string, string> = {}): string {
  try {
    load(file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}

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
      ...base,
      DRIFTLESS_SOURCES: JSON.stringify({ targets: { search }, sources: [events] }),
    });
    expect(report.problems.map((p) => p.setting)).toContain("DRIFTLESS_SOURCES.targets.search");
  });
});
