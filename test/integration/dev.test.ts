import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { services } from "../setup/services.js";

/** `make dev` (scripts/dev.ts) on a machine that cannot start the stack. */
describe("make dev", () => {
  it("says in one line, without a stack trace, that redis-server is missing, and exits 1", () => {
    const stack = services();
    const home = mkdtempSync(join(tmpdir(), "driftless-dev-"));
    try {
      // Elasticsearch and Cosmos come from the test stack, so only Redis is started: and cannot be.
      const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DRIFTLESS_HOME: home,
          REDIS_SERVER: join(home, "no-redis-server-here"),
          ELASTICSEARCH_URL: stack.elasticsearchUrl,
          COSMOS_ENDPOINT: stack.cosmos.endpoint,
          COSMOS_KEY: stack.cosmos.key,
          ...(stack.cosmos.caFile ? { COSMOS_CA_FILE: stack.cosmos.caFile } : {}),
        },
        timeout: 120_000,
      });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(/^driftless dev: redis-server not found on PATH: apt-get install -y redis-server/),
      ]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 180_000);
});
