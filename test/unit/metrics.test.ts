import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { ConfigError } from "../../shared/core/errors.js";
import { createServiceMetrics } from "../../shared/runtime/telemetry.js";
import { parseAuthenticationString } from "../../shared/telemetry/azure-monitor.js";
import { createMetrics } from "../../shared/telemetry/metrics.js";
import { BASE_ENV, CONNECTION_STRING } from "../setup/config-env.js";
import { parsePrometheus, sample } from "../setup/prometheus.js";

describe("metrics", () => {
  it("renders counters, the batch histogram and the gauges in the Prometheus text format", async () => {
    const metrics = createMetrics();
    metrics.countKeys("enqueued", "orders", 5, { lane: "live" });
    metrics.countKeys("indexed", "orders", 3);
    metrics.countKeys("indexed", "orders", 2);
    metrics.countKeys("deleted", "orders", 0); // zero adds nothing, not even a series
    metrics.recordBatch("orders", 120);
    metrics.countEvents("failed", "orders", 4);
    metrics.observeQueues(async () => [
      { source: "orders", pending: 7, inflight: 2, deadLettered: 1, oldestPendingAgeMs: 2500 },
    ]);
    metrics.observeCircuits(() => ({ cosmos: "closed", elasticsearch: "open", redis: "half-open" }));

    const text = (await metrics.prometheusText())!;
    const samples = parsePrometheus(text);
    expect(text).toContain("# TYPE driftless_keys_enqueued_total counter");
    expect(sample(samples, "driftless_keys_enqueued_total", { source: "orders", lane: "live" })).toBe(5);
    expect(sample(samples, "driftless_keys_indexed_total", { source: "orders" })).toBe(5);
    expect(sample(samples, "driftless_keys_deleted_total", { source: "orders" })).toBeUndefined();
    expect(sample(samples, "driftless_batch_duration_seconds_count", { source: "orders" })).toBe(1);
    expect(sample(samples, "driftless_batch_duration_seconds_sum", { source: "orders" })).toBeCloseTo(0.12);
    expect(sample(samples, "driftless_batch_duration_seconds_bucket", { source: "orders", le: "0.25" })).toBe(1);
    expect(sample(samples, "driftless_batch_duration_seconds_bucket", { source: "orders", le: "0.1" })).toBe(0);
    expect(sample(samples, "driftless_sync_events_failed_total", { source: "orders" })).toBe(4);
    expect(sample(samples, "driftless_queue_pending", { source: "orders" })).toBe(7);
    expect(sample(samples, "driftless_queue_inflight", { source: "orders" })).toBe(2);
    expect(sample(samples, "driftless_queue_dead_lettered", { source: "orders" })).toBe(1);
    expect(sample(samples, "driftless_queue_oldest_pending_age_seconds", { source: "orders" })).toBe(2.5);
    expect(sample(samples, "driftless_circuit_state", { dependency: "cosmos" })).toBe(0);
    expect(sample(samples, "driftless_circuit_state", { dependency: "redis" })).toBe(1);
    expect(sample(samples, "driftless_circuit_state", { dependency: "elasticsearch" })).toBe(2);
    await metrics.shutdown();
  });

  it("leaves the queue gauges out of a collection whose read fails, and still answers", async () => {
    const metrics = createMetrics();
    metrics.countKeys("claimed", "orders", 1);
    metrics.observeQueues(async () => {
      throw new Error("redis down");
    });
    const samples = parsePrometheus((await metrics.prometheusText())!);
    expect(sample(samples, "driftless_keys_claimed_total", { source: "orders" })).toBe(1);
    expect(sample(samples, "driftless_queue_pending", { source: "orders" })).toBeUndefined();
    await metrics.shutdown();
  });

  it("has no Prometheus text without a Prometheus reader", async () => {
    const metrics = createMetrics({ prometheus: false });
    expect(metrics.exporters).toEqual([]);
    expect(metrics.prometheusText()).toBeNull();
    await metrics.shutdown();
  });
});

describe("Azure Monitor exporter wiring (constructed, never sending)", () => {
  const saved = process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
  // The exporter's own usage statistics ("statsbeat") would go to a Microsoft endpoint.
  beforeAll(() => {
    process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = "true";
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
    else process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = saved;
  });

  it("is attached when APPLICATIONINSIGHTS_CONNECTION_STRING is set, and only then", async () => {
    const without = createServiceMetrics(loadConfig(BASE_ENV));
    expect(without.exporters).toEqual(["prometheus"]);
    await without.shutdown();

    const config = loadConfig({
      ...BASE_ENV,
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD",
      METRICS_EXPORT_INTERVAL_MS: "600000",
    });
    expect(config.telemetry.azureMonitor).toEqual({
      connectionString: CONNECTION_STRING,
      authenticationString: "ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD",
      exportIntervalMs: 600_000,
    });
    const metrics = createServiceMetrics(config);
    expect(metrics.exporters).toEqual(["prometheus", "azure-monitor"]);
    // Nothing was recorded, so the final flush on shutdown has nothing to send.
    await metrics.shutdown();
  });

  it("signs in with the managed identity the authentication string names", () => {
    expect(parseAuthenticationString("ClientId=abc;Authorization=AAD")).toEqual({ aad: true, clientId: "abc" });
    expect(parseAuthenticationString("Authorization=AAD")).toEqual({ aad: true });
    expect(parseAuthenticationString(undefined)).toEqual({ aad: false });
  });

  it("refuses a malformed connection string without printing it", () => {
    const bad = "IngestionEndpoint=https://secret-host.example/";
    let error: unknown;
    try {
      loadConfig({ ...BASE_ENV, APPLICATIONINSIGHTS_CONNECTION_STRING: bad });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe("APPLICATIONINSIGHTS_CONNECTION_STRING");
    expect((error as Error).message).not.toContain("secret-host");
  });
});

describe("sync events settings", () => {
  it("defaults to a 7-day retention on driftless-sync-events, and can be turned off", () => {
    expect(loadConfig(BASE_ENV).telemetry.syncEvents).toEqual({ stream: "driftless-sync-events", retention: "7d" });
    expect(loadConfig({ ...BASE_ENV, SYNC_EVENTS_ENABLED: "false" }).telemetry.syncEvents).toBeUndefined();
    expect(loadConfig({ ...BASE_ENV, SYNC_EVENTS_RETENTION: "96h" }).telemetry.syncEvents?.retention).toBe("96h");
  });

  it("refuses a retention shorter than the longest window, or a stream name Elasticsearch would refuse", () => {
    expect(() => loadConfig({ ...BASE_ENV, SYNC_EVENTS_RETENTION: "2d" })).toThrow(
      /SYNC_EVENTS_RETENTION: must be a duration of at least 3d/,
    );
    expect(() => loadConfig({ ...BASE_ENV, SYNC_EVENTS_RETENTION: "a week" })).toThrow(/SYNC_EVENTS_RETENTION/);
    expect(() => loadConfig({ ...BASE_ENV, SYNC_EVENTS_STREAM: "Sync-Events" })).toThrow(/SYNC_EVENTS_STREAM/);
    expect(() => loadConfig({ ...BASE_ENV, SYNC_EVENTS_STREAM: "_events" })).toThrow(/SYNC_EVENTS_STREAM/);
  });
});
