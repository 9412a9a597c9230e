import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import type { JobView } from "../../shared/jobs/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { differences } from "../setup/compare.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const API_KEY = "jobs-test-key-0123456789";
const DOCS = 400;

/** The job routes over real HTTP in worker mode (whose job loop runs the jobs), and the CLI. */
describe("jobs over HTTP and the CLI", () => {
  let source: TestSource;
  let worker: WorkerHandle;

  beforeAll(async () => {
    source = await createTestSource({ env: { REIMPORT_PAGE_SIZE: "150", JOBS_POLL_MS: "100" } });
    worker = await startWorker(loadConfig({ ...source.env, WORKER_PORT: "0", DRIFTLESS_API_KEY: API_KEY }), {
      logger: silentLogger,
    });
    await createDocuments(source.container, makeDocs(DOCS));
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.dispose();
  });

  const call = async (method: "GET" | "POST", path: string, body?: string, key: string | null = API_KEY) => {
    const response = await fetch(`${worker.url}/${path}`, {
      method,
      headers: { "content-type": "application/json", ...(key ? { "x-functions-key": key } : {}) },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const finished = (jobId: string) =>
    eventually(
      async () => {
        const { status, body } = await call("GET", `jobs/${jobId}`, undefined, null);
        expect(status).toBe(200);
        expect(["succeeded", "failed", "cancelled"]).toContain(body.state);
        return body as unknown as JobView;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

  it("answers bad input with a JSON error and starts nothing", async () => {
    const cases: [string, string, string | undefined, number, string, (string | null)?][] = [
      ["POST", "sources/nope/reimport", "{}", 404, "unknown_source"],
      ["POST", "sources/nope/reconcile", undefined, 404, "unknown_source"],
      ["POST", `sources/${source.name}/reimport`, '{"mode":"sideways"}', 400, "invalid_body"],
      ["POST", `sources/${source.name}/reimport`, '{"mode":"rebuild","extra":1}', 400, "invalid_body"],
      ["POST", `sources/${source.name}/reimport`, "{nope", 400, "invalid_json"],
      ["POST", `sources/${source.name}/reconcile`, '{"mode":"rebuild"}', 400, "invalid_body"],
      ["POST", `sources/${source.name}/reimport`, "{}", 401, "unauthorized", null],
      ["GET", "jobs/not-a-job", undefined, 404, "job_not_found"],
      ["GET", `jobs/reimport-${source.name}-zzzzzzzz-0123abcd`, undefined, 404, "job_not_found"],
      ["GET", "jobs/reimport-nosuchsource-zzzzzzzz-0123abcd", undefined, 404, "job_not_found"],
      ["POST", `jobs/reimport-${source.name}-zzzzzzzz-0123abcd/cancel`, undefined, 404, "job_not_found"],
      ["POST", "jobs/whatever/cancel", undefined, 401, "unauthorized", null],
    ];
    for (const [method, path, body, status, code, key] of cases) {
      const response = await call(method as "GET" | "POST", path, body, key === undefined ? API_KEY : key);
      expect(response.status, `${method} ${path} ${body}`).toBe(status);
      expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
    }
    expect(await worker.services.jobs.list()).toEqual([]);
  });

  it("reimports in place: 202 with a job id, 409 while it is active, and the worker's job loop runs it", async () => {
    const started = await call("POST", `sources/${source.name}/reimport`, "");
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ jobId: expect.stringMatching(new RegExp(`^reimport-${source.name}-`)) });
    const jobId = started.body.jobId as string;

    const again = await call("POST", `sources/${source.name}/reimport`, '{"mode":"rebuild"}');
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: { code: "job_active", message: expect.stringContaining(jobId) } });

    const job = await finished(jobId);
    expect(job).toMatchObject({
      jobId,
      kind: "reimport",
      mode: "in-place",
      state: "succeeded",
      scanned: DOCS,
      indexed: DOCS,
      enqueued: 0,
      errors: 0,
    });
    expect(Date.parse(job.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(job.startedAt!));
    // In place there is nothing to prepare or swap: the scan is the whole run.
    expect(Object.keys(job.phaseMs).sort()).toEqual(["prepare", "scan"]);
    expect(job.phaseMs.prepare! + job.phaseMs.scan!).toBe(Date.parse(job.finishedAt!) - Date.parse(job.startedAt!));
    expect(await differences(source)).toEqual([]);

    const cancel = await call("POST", `jobs/${jobId}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body).toEqual({ error: { code: "job_finished", message: expect.any(String) } });
  });

  it("rebuilds and reconciles through the same routes", async () => {
    const rebuild = await call("POST", `sources/${source.name}/reimport`, '{"mode":"rebuild"}');
    expect(rebuild.status).toBe(202);
    const job = await finished(rebuild.body.jobId as string);
    expect(job).toMatchObject({
      state: "succeeded",
      mode: "rebuild",
      scanned: DOCS,
      targetIndex: expect.stringMatching(/-\d{17}$/),
    });
    const aliases = await source.elastic.indices.getAlias({ name: source.config.sources[0]!.index });
    expect(Object.keys(aliases)).toEqual([job.targetIndex]);

    const reconcile = await call("POST", `sources/${source.name}/reconcile`);
    expect(reconcile.status).toBe(202);
    expect(await finished(reconcile.body.jobId as string)).toMatchObject({
      kind: "reconcile",
      state: "succeeded",
      scanned: DOCS,
      missing: 0,
      enqueued: 0,
    });
  });

  it("CLI: `jobs <id>` prints the job, an unknown source exits 1 with one line", async () => {
    const [latest] = await worker.services.jobs.list(source.name);
    const shown = await cli(["jobs", latest!.id]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ jobId: latest!.id, state: "succeeded" });

    const unknown = await cli(["reimport", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toEqual([expect.stringContaining("unknown_source")]);

    const missing = await cli(["jobs", `reimport-${source.name}-zzzzzzzz-0123abcd`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("job_not_found");
  }, 60_000);

  async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], {
      env: { ...process.env, ...source.env, LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, stdout, stderr };
  }
});
