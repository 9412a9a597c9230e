import { describe, expect, it } from "vitest";
import type { CosmosDBv4FunctionOptions } from "@azure/functions";
import { captureTriggerOptions } from "../../functions/lib/capture-trigger.js";
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

describe("the change-feed trigger's options", () => {
  it("poll a drained partition again after a second by default, not the host's five", () => {
    const config = loadConfig(valid);
    const options: Omit<CosmosDBv4FunctionOptions, "handler"> = captureTriggerOptions(config, config.sources[0]!);
    expect(options.feedPollDelay).toBe(500);
    expect(options).toMatchObject({ leaseContainerPrefix: "orders-", maxItemsPerInvocation: 1000 });
  });

  it("take feedPollDelay from CAPTURE_FEED_POLL_DELAY_MS, and refuse one below 100 ms naming the setting", () => {
    const config = loadConfig({ ...valid, CAPTURE_FEED_POLL_DELAY_MS: "250" });
    expect(captureTriggerOptions(config, config.sources[0]!).feedPollDelay).toBe(250);
    expect(configError({ ...valid, CAPTURE_FEED_POLL_DELAY_MS: "10" }).message).toMatch(/CAPTURE_FEED_POLL_DELAY_MS/);
  });

  it("the wake-up's debounce comes with Service Bus, and is refused below 50 ms", () => {
    const config = loadConfig({
      ...valid,
      SERVICEBUS_NAMESPACE: "x.servicebus.windows.net",
      DISPATCH_WAKE_DEBOUNCE_MS: "500",
    });
    expect(config.dispatch?.wakeDebounceMs).toBe(500);
    expect(loadConfig({ ...valid, SERVICEBUS_NAMESPACE: "x.servicebus.windows.net" }).dispatch?.wakeDebounceMs).toBe(
      1000,
    );
    expect(configError({ ...valid, DISPATCH_WAKE_DEBOUNCE_MS: "5" }).message).toMatch(/DISPATCH_WAKE_DEBOUNCE_MS/);
  });
});
