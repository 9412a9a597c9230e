import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../shared/config/index.js";
import { repoRoot } from "./bicep-tree.js";
import {
  hostResolvedSettings,
  schemaRequiredSettings,
  SOURCES_SETTINGS,
  triggerConnections,
} from "./required-settings.js";

/*
 * The Docker path (`docker compose up -d`, then `func start` with local.settings.json) cannot run
 * here: there is no Docker engine. These tests check that the two files agree with each other and
 * with what the code reads.
 */

interface ComposeService {
  image?: string;
  ports?: (string | number)[];
}

const compose = () =>
  parse(readFileSync(join(repoRoot, "docker-compose.yml"), "utf8")) as { services: Record<string, ComposeService> };
const localSettings = () =>
  (
    JSON.parse(readFileSync(join(repoRoot, "local.settings.example.json"), "utf8")) as {
      Values: Record<string, string>;
    }
  ).Values;

/** Host ports a service publishes: "9200:9200" → 9200, "10250-10255:10250-10255" → 10250…10255. */
function publishedPorts(service: ComposeService): number[] {
  return (service.ports ?? []).flatMap((entry) => {
    const host = String(entry).split(":").at(-2) ?? String(entry);
    const [from, to = from] = host.split("-").map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

describe("docker-compose.yml", () => {
  it("parses and has the services func start needs", () => {
    const { services } = compose();
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(["elasticsearch", "kibana", "redis", "azurite", "cosmos"]),
    );
    for (const [name, service] of Object.entries(services)) expect(service.image, name).toMatch(/\S/);
    expect(services.elasticsearch!.image).toMatch(/elasticsearch:8\./);
    expect(services.kibana!.image).toMatch(/kibana:8\./);
  });

  it("publishes every port local.settings.example.json points at", () => {
    const published = new Set(Object.values(compose().services).flatMap(publishedPorts));
    const values = localSettings();
    for (const key of ["REDIS_URL", "ELASTICSEARCH_URL", "COSMOS_ENDPOINT"]) {
      const url = new URL(values[key]!);
      expect(published.has(Number(url.port)), `${key} ${url.port}`).toBe(true);
    }
    // UseDevelopmentStorage=true means Azurite's blob, queue and table ports.
    expect(values.AzureWebJobsStorage).toBe("UseDevelopmentStorage=true");
    for (const port of [10000, 10001, 10002]) expect(published.has(port), `azurite ${port}`).toBe(true);
  });
});

describe("local.settings.example.json", () => {
  it("sets every setting driftless requires (derived from settingsSchema) and the sources", () => {
    const values = localSettings();
    expect(schemaRequiredSettings().filter((key) => !values[key])).toEqual([]);
    expect(SOURCES_SETTINGS.some((key) => values[key])).toBe(true);
  });

  it("sets what the Functions host resolves itself", () => {
    const values = localSettings();
    expect(values.FUNCTIONS_WORKER_RUNTIME).toBe("node");
    // The Service Bus trigger (and its %SERVICEBUS_QUEUE%) is registered only with Service Bus configured.
    const serviceBus = Boolean(values.SERVICEBUS_NAMESPACE || values.SERVICEBUS_CONNECTION_STRING);
    const needed = hostResolvedSettings().filter((key) => serviceBus || !key.startsWith("SERVICEBUS"));
    expect(needed).toContain("SYNC_SCHEDULE");
    expect(needed.filter((key) => !values[key])).toEqual([]);
    const connections = [values.COSMOS_TRIGGER_CONNECTION ?? "COSMOS", ...(serviceBus ? triggerConnections() : [])];
    for (const connection of connections) {
      const defined = Object.keys(values).some((key) => key === connection || key.startsWith(`${connection}__`));
      expect(defined, `trigger connection ${connection}`).toBe(true);
    }
  });

  it("is accepted by loadConfig", () => {
    const values = localSettings();
    const config = loadConfig(values, { readFile: (path) => readFileSync(join(repoRoot, path), "utf8") });
    expect(config.sources.length).toBeGreaterThan(0);
  });
});
