import { expect } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { ConfigError } from "../../shared/core/errors.js";

/** The fewest settings loadConfig accepts; nothing is contacted while only loading config. */
export const BASE_ENV = {
  REDIS_URL: "redis://127.0.0.1:6379",
  ELASTICSEARCH_URL: "http://127.0.0.1:9200",
  COSMOS_ENDPOINT: "https://localhost:8081",
  COSMOS_KEY: "a-key",
  DRIFTLESS_SOURCES: JSON.stringify([
    { name: "orders", database: "d", container: "c", partitionKeyPath: "/id", index: "orders" },
  ]),
};

/** An Application Insights connection string whose ingestion endpoint is a closed local port: even an accidental export never leaves the machine. */
export const CONNECTION_STRING =
  "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/";

/** The ConfigError loadConfig throws for `env`; fails the test when it accepts them. */
export function configError(env: Record<string, string | undefined>, readFile?: (path: string) => string): ConfigError {
  try {
    loadConfig(env, { readFile });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("loadConfig accepted invalid settings");
}
