import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { runJobToEnd } from "../setup/jobs.js";
import { spawnWorker } from "../setup/worker-process.js";

/**
 * A source whose container has a hierarchical partition key (/tenant, /region), where one id may
 * live under several full keys: capture, sync, reimport and reconcile each keep them apart. The
 * emulator used to key such a container by its first level only and refused the second document.
 */
describe("hierarchical partition keys end to end", () => {
  let source: TestSource;
  let services: Services;
  // The `_id` must tell the two "a" documents apart: partition key and id together.
  const entries = () =>
    source.indexed().then((all) => Object.fromEntries([...all].map(([id, entry]) => [id, entry.source.title])));

  beforeAll(async () => {
    source = await createTestSource({
      partitionKeyPath: ["/tenant", "/region"],
      extra: { documentId: "partitionKeyAndId" },
      // One of three documents is a third of the index: above the reconcile's default delete guard.
      env: {
        CAPTURE_MODE: "allVersionsAndDeletes",
        CAPTURE_START_FROM: "now",
        CAPTURE_POLL_MS: "100",
        RECONCILE_MAX_DELETE_SHARE: "1",
      },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  const runJob = (kind: "reimport" | "reconcile") => runJobToEnd(services, kind, source.name);

  it("captures, syncs, reimports and reconciles one id under two full keys", async () => {
    const worker = spawnWorker("hierarchical-keys", { ...source.env, CAPTURE_ENABLED: "true" });
    try {
      await eventually(
        async () => {
          await source.container.items.upsert({ id: "probe", tenant: "t", region: "eu", title: "probe" });
          expect(await entries()).toHaveProperty('["t","eu"]:probe');
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      await source.container.items.create({ id: "a", tenant: "t", region: "eu", title: "a in eu" });
      await source.container.items.create({ id: "a", tenant: "t", region: "us", title: "a in us" });
      await eventually(
        async () => expect(await entries()).toMatchObject({ '["t","eu"]:a': "a in eu", '["t","us"]:a': "a in us" }),
        { timeoutMs: 30_000, intervalMs: 300 },
      );
      await source.container.item("a", ["t", "eu"]).delete();
      await eventually(
        async () => expect(await entries()).toEqual({ '["t","eu"]:probe': "probe", '["t","us"]:a': "a in us" }),
        { timeoutMs: 30_000, intervalMs: 300 },
      );
    } finally {
      await worker.kill();
    }

    // A reimport writes both levels' keys; a reconcile finds the one deleted while nothing captured.
    // A second later than the delete: a reimport's copy never replaces an equal version (bulk-sink.ts).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await source.container.items.create({ id: "a", tenant: "t", region: "eu", title: "a back in eu" });
    expect(await runJob("reimport")).toMatchObject({ state: "succeeded", scanned: 3 });
    expect(await entries()).toEqual({
      '["t","eu"]:probe': "probe",
      '["t","us"]:a': "a in us",
      '["t","eu"]:a': "a back in eu",
    });
    await source.container.item("a", ["t", "us"]).delete();
    expect(await runJob("reconcile")).toMatchObject({ state: "succeeded", scanned: 3, missing: 1 });
    const { runSyncPass } = await import("../../shared/sync/pass.js");
    await runSyncPass(services, { budgetMs: 10_000, untilIdle: true });
    expect(await entries()).toEqual({ '["t","eu"]:probe': "probe", '["t","eu"]:a': "a back in eu" });
  }, 180_000);
});
