import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { configError } from "../setup/config-env.js";

const source = { name: "orders", database: "shop", container: "orders", partitionKeyPath: "/tenant", index: "orders" };
const valid = {
  REDIS_URL: "redis://localhost:6379",
  ELASTICSEARCH_URL: "http://localhost:9200",
  COSMOS_ENDPOINT: "https://localhost:8081",
  COSMOS_KEY: "c2VjcmV0LWtleS1mb3ItdGVzdHM=",
  DRIFTLESS_SOURCES: JSON.stringify([source]),
};

describe("loadConfig", () => {
  it("applies defaults and normalises sources", () => {
    const config = loadConfig(valid);
    expect(config.sync.batchSize).toBe(1000);
    expect(config.queue.retry.maxAttempts).toBe(10);
    expect(config.worker.port).toBe(7071);
    expect(config.sources[0]).toMatchObject({
      name: "orders",
      partitionKeyPaths: ["/tenant"],
      documentId: "id",
      mapping: {},
    });
    expect(Object.isFrozen(config.sources[0])).toBe(true);
  });

  it("uses managed identity for Cosmos when no key is set", () => {
    const { COSMOS_KEY: _omit, ...rest } = valid;
    const config = loadConfig({ ...rest, AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000001" });
    expect(config.cosmos.key).toBeUndefined();
    expect(config.cosmos.clientId).toBe("00000000-0000-0000-0000-000000000001");
  });

  it("reads sources from a file", () => {
    const { DRIFTLESS_SOURCES: _omit, ...rest } = valid;
    const config = loadConfig(
      { ...rest, DRIFTLESS_SOURCES_FILE: "/etc/sources.json" },
      { readFile: () => JSON.stringify(source) },
    );
    expect(config.sources.map((s) => s.name)).toEqual(["orders"]);
  });

  it.each([
    ["REDIS_URL", { REDIS_URL: undefined }, /REDIS_URL: required/],
    ["REDIS_URL", { REDIS_URL: "http://nope" }, /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    ["SYNC_BATCH_SIZE", { SYNC_BATCH_SIZE: "lots" }, /SYNC_BATCH_SIZE/],
    ["SYNC_BATCH_SIZE", { SYNC_BATCH_SIZE: "0" }, /SYNC_BATCH_SIZE/],
    ["DRIFTLESS_SOURCES", { DRIFTLESS_SOURCES: "[{" }, /DRIFTLESS_SOURCES: not valid JSON/],
    ["DRIFTLESS_SOURCES", { DRIFTLESS_SOURCES: undefined }, /DRIFTLESS_SOURCES: required/],
    [
      "DRIFTLESS_SOURCES[0].index",
      { DRIFTLESS_SOURCES: JSON.stringify([{ ...source, index: "Bad Index" }]) },
      /DRIFTLESS_SOURCES\[0\]\.index/,
    ],
    [
      "DRIFTLESS_SOURCES[0].partitionKeyPath",
      { DRIFTLESS_SOURCES: JSON.stringify([{ ...source, partitionKeyPath: "tenant" }]) },
      /partitionKeyPath/,
    ],
    [
      "DRIFTLESS_SOURCES[0].name",
      { DRIFTLESS_SOURCES: JSON.stringify([{ ...source, name: 5 }]) },
      /expected string, received number/,
    ],
    ["DRIFTLESS_SOURCES[1].name", { DRIFTLESS_SOURCES: JSON.stringify([source, source]) }, /duplicate source name/],
    ["DRIFTLESS_SOURCES[0]", { DRIFTLESS_SOURCES: JSON.stringify([{ ...source, colour: "red" }]) }, /colour/],
    ["DRIFTLESS_API_KEY", { DRIFTLESS_API_KEY: "short" }, /DRIFTLESS_API_KEY: must be at least 16 characters/],
  ])("names %s when it is bad", (setting, change, pattern) => {
    const error = configError({ ...valid, ...change });
    expect(error.setting).toBe(setting);
    expect(error.message).toMatch(pattern);
  });

  it.each([
    ["the same alias", "orders", /source "audit": index "orders" is also the index of source "orders"/],
    [
      "the other's rebuild alias",
      "orders-rebuild",
      /source "audit": index "orders-rebuild" is the alias a rebuild of source "orders" puts on its new index/,
    ],
    [
      "one of the other's index versions",
      "orders-20260101120000000",
      /source "audit": index "orders-20260101120000000" is named like an index version of source "orders"/,
    ],
  ])("refuses a second source on %s, naming both sources", (_case, index, pattern) => {
    const audit = { ...source, name: "audit", container: "audit", index };
    const error = configError({ ...valid, DRIFTLESS_SOURCES: JSON.stringify([source, audit]) });
    expect(error.setting).toBe("DRIFTLESS_SOURCES[1].index");
    expect(error.message).toMatch(pattern);
    // The other way round, the later source is still the one named.
    const reversed = configError({ ...valid, DRIFTLESS_SOURCES: JSON.stringify([audit, source]) });
    expect(reversed.setting).toBe("DRIFTLESS_SOURCES[1].index");
    expect(reversed.message).toMatch(/source "orders": index "orders" .*source "audit"/);
  });

  it("accepts sources whose names only share a prefix", () => {
    const others = [
      { ...source, name: "a", index: "orders-archive" },
      { ...source, name: "b", index: "orders-2026" },
      { ...source, name: "c", index: "orders-rebuild-x" },
    ];
    expect(loadConfig({ ...valid, DRIFTLESS_SOURCES: JSON.stringify([source, ...others]) }).sources).toHaveLength(4);
  });

  it("refuses a rename into driftless's namespace", () => {
    const renamed = { ...source, transform: { rename: { key: "driftless.key" } } };
    const error = configError({ ...valid, DRIFTLESS_SOURCES: JSON.stringify([renamed]) });
    expect(error.setting).toBe("DRIFTLESS_SOURCES[0].transform.rename.key");
    expect(error.message).toMatch(/reserved for driftless's metadata/);
  });

  it("lists every problem at once, without secret values", () => {
    const error = configError({
      ...valid,
      REDIS_URL: "redis//:hunter2secret@x",
      COSMOS_ENDPOINT: undefined,
      SYNC_CONCURRENCY: "-1",
    });
    expect(error.message).toMatch(/REDIS_URL/);
    expect(error.message).toMatch(/COSMOS_ENDPOINT: required/);
    expect(error.message).toMatch(/SYNC_CONCURRENCY/);
    expect(error.message).not.toContain("hunter2secret");
  });

  it("refuses a start from the beginning or a time in all-versions-and-deletes mode, which reads from now only", () => {
    for (const start of ["beginning", "2026-01-01T00:00:00Z"]) {
      expect(
        configError({ ...valid, CAPTURE_MODE: "allVersionsAndDeletes", CAPTURE_START_FROM: start }).message,
      ).toMatch(/^CAPTURE_START_FROM: must be now with CAPTURE_MODE=allVersionsAndDeletes/);
    }
    expect(loadConfig({ ...valid, CAPTURE_MODE: "allVersionsAndDeletes" }).capture).toMatchObject({
      mode: "allVersionsAndDeletes",
      startFrom: { kind: "now" },
    });
  });

  it("bounds the share of the index one reconcile may delete", () => {
    expect(loadConfig(valid).jobs.reconcileMaxDeleteShare).toBe(0.25);
    expect(configError({ ...valid, RECONCILE_MAX_DELETE_SHARE: "1.5" }).message).toMatch(/RECONCILE_MAX_DELETE_SHARE/);
  });

  it("ships logs to Elasticsearch only with LOG_ELASTICSEARCH_URL, into a logs-<dataset>-<namespace> data stream", () => {
    expect(loadConfig(valid).telemetry.logs).toEqual({});
    const on = loadConfig({
      ...valid,
      LOG_ELASTICSEARCH_URL: "http://localhost:9200",
      LOG_ELASTICSEARCH_API_KEY: "bG9nLWtleS1zZWNyZXQ=",
    });
    expect(on.telemetry.logs.elasticsearch).toEqual({
      node: "http://localhost:9200",
      apiKey: "bG9nLWtleS1zZWNyZXQ=",
      caFile: undefined,
      dataStream: "logs-driftless-default",
    });
    expect(configError({ ...valid, LOG_ELASTICSEARCH_URL: "localhost:9200" }).message).toMatch(
      /^LOG_ELASTICSEARCH_URL: must be a http/,
    );
    for (const stream of ["driftless-logs", "logs-driftless", "logs-Driftless-default", "logs-a-b-*"]) {
      expect(configError({ ...valid, LOG_ELASTICSEARCH_DATA_STREAM: stream }).message, stream).toMatch(
        /^LOG_ELASTICSEARCH_DATA_STREAM: must be a logs-<dataset>-<namespace>/,
      );
    }
  });

  it("rejects both sources settings at once, and an unreadable file", () => {
    expect(configError({ ...valid, DRIFTLESS_SOURCES_FILE: "/x" }).message).toMatch(/not both/);
    const { DRIFTLESS_SOURCES: _omit, ...rest } = valid;
    const missing = configError({ ...rest, DRIFTLESS_SOURCES_FILE: "/missing.json" }, () => {
      throw Object.assign(new Error("no such file"), { code: "ENOENT" });
    });
    expect(missing.message).toBe("DRIFTLESS_SOURCES_FILE: cannot read /missing.json: ENOENT");
  });
});
