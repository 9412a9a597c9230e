import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { differences } from "../setup/compare.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { onTimeTimer } from "../setup/invocation.js";

const { InvocationContext } = functions;

/**
 * Without Service Bus the timer drains in process. Its budget is far longer than this test's
 * timeout, so a pass that polled the empty queue until the budget ran out (as it did: idle time
 * billed on every run) fails here by timing out; one that ends when the queue is empty passes.
 */
describe("the timer pass without Service Bus", () => {
  let source: TestSource;
  let syncTimerHandler: typeof import("../../functions/sync-timer.js").syncTimerHandler;
  const timer = onTimeTimer;
  const context = () => new InvocationContext({ functionName: "sync-timer", invocationId: "test-sync-timer" });

  beforeAll(async () => {
    source = await createTestSource({ env: { SYNC_TIME_BUDGET_MS: "600000" } });
    Object.assign(process.env, source.env);
    ({ syncTimerHandler } = await import("../../functions/sync-timer.js"));
  });

  afterAll(async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  it("returns once the queue is empty, with its keys synced, long before the budget", {
    timeout: 120_000,
  }, async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    const services = await getServices();
    expect(services.config.dispatch).toBeUndefined();
    expect(services.config.sync.timeBudgetMs).toBe(600_000);
    for (let i = 0; i < 3; i++)
      await source.container.items.create({ id: `idle${i}`, tenant: "x", title: `t ${i}`, n: i });
    await services.sources.get(source.name)!.queue.enqueue(
      Array.from({ length: 3 }, (_, i) => ({ id: `idle${i}`, pk: "x" })),
      { lane: "live", now: Date.now() },
    );

    await syncTimerHandler(() => null)(timer, context());
    expect(await services.sources.get(source.name)!.queue.stats(Date.now())).toMatchObject({
      pending: 0,
      inflight: 0,
      deadLettered: 0,
    });
    expect(await differences(source)).toEqual([]);

    // An idle run: nothing to claim, so it returns at once instead of polling for ten minutes.
    await syncTimerHandler(() => null)(timer, context());
    expect((await services.sources.get(source.name)!.queue.stats(Date.now())).pending).toBe(0);
  });
});
