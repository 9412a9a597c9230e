import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker } from "../../shared/worker/worker.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

/**
 * A worker that listens beyond loopback (WORKER_HOST 0.0.0.0, a pod's address) can be reached by
 * others: it refuses to start without DRIFTLESS_API_KEY, before it opens anything.
 */
describe("a worker on a non-loopback address needs an API key", () => {
  let source: TestSource;

  beforeAll(async () => {
    source = await createTestSource();
  });

  afterAll(async () => {
    await source?.dispose();
  });

  it("driftless worker with WORKER_HOST=0.0.0.0 and no key exits 3 with one line naming the setting", () => {
    const env = withoutKey();
    const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", "worker"], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...env,
        WORKER_HOST: "0.0.0.0",
        WORKER_PORT: "0",
        LOG_LEVEL: "error",
      },
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^driftless: config_invalid: .*DRIFTLESS_API_KEY.*required when WORKER_HOST is not loopback \(it is 0\.0\.0\.0\)/m,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 90_000);

  const withoutKey = (): Record<string, string> => {
    const { DRIFTLESS_API_KEY: _, ...env } = source.env;
    return env;
  };

  it("refuses in process too, for every non-loopback host; loopback without a key, and any host with one, start", async () => {
    for (const host of ["0.0.0.0", "::", "10.1.2.3"]) {
      await expect(
        startWorker(loadConfig({ ...withoutKey(), WORKER_HOST: host, WORKER_PORT: "0" }), { logger: silentLogger }),
        host,
      ).rejects.toMatchObject({
        code: "config_invalid",
        message: expect.stringContaining("DRIFTLESS_API_KEY"),
      });
    }
    for (const [host, key] of [
      ["127.0.0.1", {}],
      ["0.0.0.0", { DRIFTLESS_API_KEY: "exposure-test-key-0123456789abcdef" }],
    ] as const) {
      const worker = await startWorker(
        loadConfig({
          ...withoutKey(),
          ...key,
          WORKER_HOST: host,
          WORKER_PORT: "0",
          WORKER_SYNC: "false",
          CAPTURE_ENABLED: "false",
        }),
        { logger: silentLogger },
      );
      try {
        expect((await fetch(`${worker.url.replace("0.0.0.0", "127.0.0.1")}/health`)).status, host).toBe(200);
      } finally {
        await worker.stop();
      }
    }
  }, 90_000);
});
