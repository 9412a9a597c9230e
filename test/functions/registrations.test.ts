import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../shared/api/index.js";
import { settingsSchema } from "../../shared/config/settings.js";
import { BASE_ENV } from "../setup/config-env.js";
import { installFunctionsHost, type Registration } from "../setup/functions-host.js";

const functionsDir = fileURLToPath(new URL("../../functions/", import.meta.url));

/**
 * What the Functions host is given when it loads the app: every module `main` names
 * (`dist/functions/*.js`, here their sources), with their registrations taken as the host's
 * worker takes them. The HTTP functions must be the route table's routes, no more and no fewer,
 * each with the route's methods, path and auth level: a keyed route behind a function key.
 */
describe("Azure Functions registrations", () => {
  let registered: Registration[];

  beforeAll(async () => {
    registered = installFunctionsHost();
    for (const name of Object.keys(settingsSchema.shape)) delete process.env[name];
    // Service Bus configured, so the ticket function registers too; nothing is contacted while registering.
    Object.assign(process.env, BASE_ENV, { SERVICEBUS_NAMESPACE: "example.servicebus.windows.net" });
    for (const file of readdirSync(functionsDir)
      .filter((name) => name.endsWith(".ts"))
      .sort())
      await import(pathToFileURL(join(functionsDir, file)).href);
  });

  const httpTrigger = (registration: Registration) =>
    Object.values(registration.bindings).find((binding) => binding.type === "httpTrigger");

  it("registers one HTTP function per route, named as the route, with its methods, path and auth level", () => {
    const http = registered.flatMap((registration) => {
      const trigger = httpTrigger(registration);
      return trigger
        ? [{ name: registration.name, methods: trigger.methods, route: trigger.route, authLevel: trigger.authLevel }]
        : [];
    });
    const expected = routes.map((route) => ({
      name: route.name,
      methods: [route.method],
      route: route.route,
      authLevel: route.auth === "key" ? "function" : "anonymous",
    }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(http.sort(byName)).toEqual(expected.sort(byName));
  });

  it("hands each HTTP function the handler that serves its route", async () => {
    const { httpFunction } = await import("../../functions/http.js");
    for (const registration of registered.filter((candidate) => httpTrigger(candidate))) {
      expect(registration.handler, registration.name).toBe(httpFunction(registration.name));
    }
  });

  it("registers every function once, the timers, the ticket function and a capture trigger per source among them", () => {
    const names = registered.map((registration) => registration.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((name) => !routes.some((route) => route.name === name)).sort()).toEqual(
      ["capture-orders", "jobs-timer", "reconcile-timer", "sync-ticket", "sync-timer"].sort(),
    );
  });

  it("has the change-feed trigger poll a drained partition again after CAPTURE_FEED_POLL_DELAY_MS, not the host's 5 s", () => {
    const capture = registered.find((registration) => registration.name === "capture-orders")!;
    const trigger = Object.values(capture.bindings).find((binding) => binding.type === "cosmosDBTrigger");
    expect(trigger).toMatchObject({ feedPollDelay: 500, leaseContainerPrefix: "orders-" });
  });
});
