import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/stack/ports.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");
const API_KEY = "remote-cli-test-key-0123456789";

/** The CLI as its bin runs it, from any directory; the environment is only what is given (no Redis, Cosmos or ES settings unless passed). */
function driftless(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd = process.cwd(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, "--", MAIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Remote mode: the operator commands against a real worker process started with a key, through
 * its HTTP API alone. The CLI is given no Redis, Cosmos DB or Elasticsearch settings at all, so
 * every answer came through the API.
 */
describe("driftless CLI, remote mode", () => {
  let source: TestSource;
  let worker: WorkerProcess;
  let url: string;
  let remote: Record<string, string>;

  beforeAll(async () => {
    source = await createTestSource({ env: { JOBS_POLL_MS: "200" } });
    worker = spawnWorker("cli-remote", { ...source.env, DRIFTLESS_API_KEY: API_KEY });
    url = new URL((await worker.url()).replace(/\/api\/?$/, "")).origin;
    remote = { DRIFTLESS_API_URL: url, DRIFTLESS_API_KEY: API_KEY };
  }, 120_000);

  afterAll(async () => {
    await worker?.kill();
    await source?.dispose();
  });

  const neverShowsKey = (...outputs: string[]) => {
    for (const output of outputs) expect(output).not.toContain(API_KEY);
  };

  it("status, enqueue and deadletters answer through the API as they do locally", async () => {
    const status = await driftless(["status", "--json"], remote);
    expect([status.code, status.stderr]).toEqual([0, ""]);
    const body = JSON.parse(status.stdout) as { sources: { name: string }[] };
    expect(body.sources.map((s) => s.name)).toEqual([source.name]);

    const enqueued = await driftless([
      "--api-url",
      url,
      "--api-key",
      API_KEY,
      "enqueue",
      source.name,
      "doc-1",
      "tenant-1",
    ]);
    expect([enqueued.code, enqueued.stderr]).toEqual([0, ""]);
    expect(JSON.parse(enqueued.stdout)).toEqual({ enqueued: expect.any(Number), duplicates: expect.any(Number) });
    expect(Object.values(JSON.parse(enqueued.stdout) as Record<string, number>).reduce((a, b) => a + b)).toBe(1);

    const listed = await driftless(["deadletters", "list", source.name, "--json"], remote);
    expect(listed.code).toBe(0);
    const local = await driftless(["deadletters", "list", source.name, "--json"], source.env);
    expect(local.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(JSON.parse(local.stdout));
    expect(JSON.parse(listed.stdout)).toMatchObject({ total: 0, items: [] });

    const redrive = await driftless(["deadletters", "redrive", source.name], remote);
    expect([redrive.code, redrive.stderr]).toEqual([0, ""]);
    expect(JSON.parse(redrive.stdout)).toEqual(expect.any(Object));
    const purge = await driftless(["deadletters", "purge", source.name, "--all"], remote);
    expect([purge.code, purge.stderr]).toEqual([0, ""]);
    expect(JSON.parse(purge.stdout)).toEqual(expect.any(Object));

    // An API error is the route's code and message, and the exit code the local command gives.
    const unknown = await driftless(["enqueue", "no-such-source", "doc-1"], remote);
    const unknownLocal = await driftless(["enqueue", "no-such-source", "doc-1"], source.env);
    expect([unknown.code, unknown.stderr]).toEqual([unknownLocal.code, unknownLocal.stderr]);
    expect(unknown.stderr).toMatch(/^driftless: unknown_source: .+\n$/);
    neverShowsKey(status.stdout, status.stderr, enqueued.stdout, enqueued.stderr, unknown.stderr);
  }, 120_000);

  it("reimport --wait, reconcile and jobs run the jobs at the deployment and follow them", async () => {
    const reimport = await driftless(["reimport", source.name, "--wait"], remote);
    expect([reimport.code, reimport.stderr.includes("driftless:")]).toEqual([0, false]);
    const [started, final] = reimport.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(final).toMatchObject({ jobId: started!.jobId, kind: "reimport", source: source.name, state: "succeeded" });

    const reconcile = await driftless(["reconcile", source.name], remote);
    expect(reconcile.code).toBe(0);
    const { jobId } = JSON.parse(reconcile.stdout) as { jobId: string };
    expect(jobId).toEqual(expect.any(String));

    const list = await driftless(["jobs", "--json"], remote);
    expect(list.code).toBe(0);
    const ids = (JSON.parse(list.stdout) as { jobs: { jobId: string }[] }).jobs.map((job) => job.jobId);
    expect(ids).toEqual(expect.arrayContaining([started!.jobId, jobId]));
    const show = await driftless(["jobs", String(started!.jobId)], remote);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ jobId: started!.jobId, state: "succeeded" });
    const missing = await driftless(["jobs", "no-such-job"], remote);
    expect([missing.code, missing.stderr]).toEqual([1, 'driftless: job_not_found: no job "no-such-job"\n']);
  }, 240_000);

  it("a wrong or missing key exits 5 with one line naming the API's error code, and changes nothing", async () => {
    const before = JSON.parse((await driftless(["status", "--json"], remote)).stdout) as {
      sources: { pending: number; inflight: number }[];
    };
    const wrong = await driftless(
      ["--api-key", "wrong-key-wrong-key-wrong", "enqueue", source.name, "doc-2", "tenant-1"],
      { DRIFTLESS_API_URL: url },
    );
    expect(wrong.code).toBe(5);
    expect(wrong.stdout).toBe("");
    expect(wrong.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/^driftless: unauthorized: .*HTTP 401/);
    expect(wrong.stderr).not.toContain("wrong-key-wrong-key-wrong");
    const none = await driftless(["deadletters", "list", source.name], { DRIFTLESS_API_URL: url });
    expect(none.code).toBe(5);
    expect(none.stderr).toMatch(/^driftless: unauthorized: .*no key given/);
    const after = JSON.parse((await driftless(["status", "--json"], remote)).stdout) as {
      sources: { pending: number; inflight: number }[];
    };
    expect(after.sources[0]!.pending + after.sources[0]!.inflight).toBeLessThanOrEqual(
      before.sources[0]!.pending + before.sources[0]!.inflight,
    );
  }, 120_000);

  it("an unreachable API exits 4 with one line, and a malformed --api-url is a usage error", async () => {
    const port = await freePort();
    const down = await driftless(["status"], {
      DRIFTLESS_API_URL: `http://127.0.0.1:${port}`,
      DRIFTLESS_API_KEY: API_KEY,
    });
    expect(down.code).toBe(4);
    expect(down.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(down.stderr).toMatch(
      new RegExp(`^driftless: api_unreachable: cannot reach the driftless API at http://127\\.0\\.0\\.1:${port}`),
    );
    neverShowsKey(down.stderr);
    const bad = await driftless(["--api-url", "ftp://example", "status"]);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      "driftless: invalid_arguments: --api-url: must be an http:// or https:// URL\n",
    ]);
  }, 60_000);
});

describe("driftless CLI, local.settings.json", () => {
  it("reads Values below the environment and --env-file, and refuses a malformed file with exit 3", async () => {
    const dir = mkdtempSync(join(tmpdir(), "driftless-local-settings-"));
    try {
      const base = {
        REDIS_URL: "redis://127.0.0.1:1",
        ELASTICSEARCH_URL: "http://127.0.0.1:1",
        COSMOS_ENDPOINT: "https://localhost:1",
        COSMOS_KEY: "cosmos-key-from-local-settings",
        DRIFTLESS_SOURCES: JSON.stringify([
          { name: "orders", database: "shop", container: "orders", partitionKeyPath: "/tenant", index: "orders" },
        ]),
      };
      writeFileSync(
        join(dir, "local.settings.json"),
        JSON.stringify({
          IsEncrypted: false,
          Values: { ...base, LOG_LEVEL: "debug", SYNC_BATCH_SIZE: "7", ENQUEUE_MAX_ITEMS: "9" },
        }),
      );
      writeFileSync(join(dir, "settings.env"), "SYNC_BATCH_SIZE=8\nENQUEUE_MAX_ITEMS=10\n");
      const check = await driftless(
        ["--env-file", "settings.env", "config", "check", "--json"],
        { ENQUEUE_MAX_ITEMS: "11" },
        dir,
      );
      expect([check.code, check.stderr]).toEqual([0, ""]);
      const { settings } = JSON.parse(check.stdout) as { settings: Record<string, { value: unknown }> };
      expect([settings.LOG_LEVEL?.value, settings.SYNC_BATCH_SIZE?.value, settings.ENQUEUE_MAX_ITEMS?.value]).toEqual([
        "debug",
        8,
        11,
      ]);
      expect(check.stdout).not.toContain("cosmos-key-from-local-settings");

      // Without the file, the same command lacks the settings it gave.
      rmSync(join(dir, "local.settings.json"));
      expect((await driftless(["config", "check", "--json"], {}, dir)).code).toBe(3);

      writeFileSync(join(dir, "local.settings.json"), "{ not json");
      const broken = await driftless(["status"], {}, dir);
      expect(broken.code).toBe(3);
      expect(broken.stderr).toMatch(/^driftless: config_invalid: local\.settings\.json: not valid JSON/);
      expect(broken.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
