import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { runJobToEnd } from "../setup/jobs.js";

/**
 * A document whose partition-key path holds an object cannot be read back by any key. A reimport
 * used to skip it with only a log line; it now puts it in the dead letters with its reason, as
 * capture does, and writes the rest.
 */
describe("reimport of a document whose partition key is an object", () => {
  let source: TestSource;
  let services: Services;

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  it("dead-letters it with its reason and indexes the others", async () => {
    await source.container.items.create({ id: "ok-1", tenant: "t", title: "fine" });
    await source.container.items.create({ id: "ok-2", tenant: "t", title: "fine too" });
    await source.container.items.create({ id: "bad", tenant: { nested: true }, title: "unreadable" });
    const job = await runJobToEnd(services, "reimport", source.name);
    expect(job).toMatchObject({ state: "succeeded", scanned: 3, indexed: 2, errors: 1 });
    expect([...(await source.indexed()).keys()].sort()).toEqual(["ok-1", "ok-2"]);
    const dead = await services.sources.get(source.name)!.queue.listDeadLetters();
    expect(dead).toEqual([
      expect.objectContaining({
        key: expect.objectContaining({ id: "bad" }),
        reason: "partition key at /tenant is an object",
      }),
    ]);
  });
});
