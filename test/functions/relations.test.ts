import type { Container } from "@azure/cosmos";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { installFunctionsHost, type Registration } from "../setup/functions-host.js";
import { uniqueName } from "../setup/services.js";
import { invocationContext, onTimeTimer } from "../setup/invocation.js";

const MODULE = fileURLToPath(new URL("../fixtures/transforms/orders-with-customer.js", import.meta.url));

/**
 * The Functions app's capture of a related container: registered once per container that the
 * sources' relations name, and its handler, called as the host would call it, enqueues the
 * orders of a renamed customer, which the sync timer then indexes with the new name. Real Redis,
 * Elasticsearch and emulator; the host itself cannot run here.
 */
describe("Azure Functions: capture of a related container", () => {
  let registered: Registration[];
  let source: TestSource;
  let customers: Container;
  const customersName = uniqueName("customers").replace(/[^a-z0-9_-]/g, "");
  let handlers: {
    syncTimer: typeof import("../../functions/sync-timer.js").syncTimer;
    relatedCaptureHandler: typeof import("../../functions/capture.js").relatedCaptureHandler;
  };

  beforeAll(async () => {
    registered = installFunctionsHost();
    source = await createTestSource({
      extra: {
        mapping: {
          properties: { customerId: { type: "keyword" }, customer: { properties: { name: { type: "keyword" } } } },
        },
        transform: { module: MODULE },
        relations: [{ name: "customer", container: customersName, foreignKey: "customerId" }],
      },
      env: { SYNC_TIME_BUDGET_MS: "3000" },
    });
    ({ container: customers } = await source.container.database.containers.createIfNotExists({
      id: customersName,
      partitionKey: { paths: ["/id"] },
    }));
    Object.assign(process.env, source.env);
    handlers = {
      ...(await import("../../functions/sync-timer.js")),
      ...(await import("../../functions/capture.js")),
    };
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await customers?.delete().catch(() => undefined);
    await source?.dispose();
  });

  const timer = onTimeTimer;
  const context = invocationContext;
  const services = async () => (await import("../../functions/lib/services.js")).getServices();
  const names = async () =>
    new Map(
      [...(await source.indexed())].map(([id, entry]) => [
        id,
        (entry.source.customer as { name?: string } | undefined)?.name ?? null,
      ]),
    );

  it("registers one change-feed trigger for the related container, its leases apart from the source's", () => {
    const triggers = registered.flatMap((registration) => {
      const trigger = Object.values(registration.bindings).find((binding) => binding.type === "cosmosDBTrigger");
      return trigger ? [{ ...(trigger as { containerName?: unknown }), name: registration.name }] : [];
    });
    expect(triggers.map((trigger) => trigger.containerName).sort()).toEqual([customersName, source.name].sort());
    const related = triggers.find((trigger) => trigger.containerName === customersName)!;
    expect(related).toMatchObject({
      name: `capture-related-0-${customersName}`,
      databaseName: "driftless-test",
      leaseContainerPrefix: `~related~driftless-test~${customersName}-`,
    });
  });

  it("the handler enqueues the renamed customer's orders, and the sync timer embeds the new name in exactly those", async () => {
    for (let c = 0; c < 3; c++) await customers.items.upsert({ id: `c${c}`, name: `Customer ${c}` });
    const keys = [];
    for (let i = 0; i < 30; i++) {
      await source.container.items.upsert({
        id: `o${i}`,
        tenant: `t${i % 2}`,
        customerId: `c${i % 3}`,
        title: `o ${i}`,
      });
      keys.push({ id: `o${i}`, pk: `t${i % 2}` });
    }
    const queue = (await services()).sources.get(source.name)!.queue;
    await queue.enqueue(keys, { lane: "live", now: Date.now() });
    await handlers.syncTimer(timer, context("sync-timer"));
    const before = await names();
    expect([...before.values()].filter((name) => name === "Customer 1")).toHaveLength(10);

    await customers.items.upsert({ id: "c1", name: "Renamed" });
    // What the trigger hands the handler in latest-version mode: the changed documents.
    const { resource } = await customers.item("c1", "c1").read();
    await handlers.relatedCaptureHandler("driftless-test", customersName)([resource], context("capture-related"));
    const stats = await queue.stats(Date.now());
    expect(stats.pending + stats.inflight).toBe(10);
    await handlers.syncTimer(timer, context("sync-timer"));
    const after = await names();
    expect(after.size).toBe(30);
    for (const [id, name] of after) {
      const customer = Number(id.slice(1)) % 3;
      expect(name, id).toBe(customer === 1 ? "Renamed" : `Customer ${customer}`);
    }
  });
});
