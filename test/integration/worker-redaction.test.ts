import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../scripts/stack/ports.js";
import { loadConfig } from "../../shared/config/index.js";
import type { JobView } from "../../shared/jobs/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const API_KEY = "redaction-test-key-0123456789";
const REDACTED = "redacted: send the API key to see it";

/**
 * The anonymous routes (health, job status, job list) answer anyone who reaches the port. Their
 * error text (a dependency's message with its host and port, a job's last error) goes only to a
 * caller with the key, and to everyone when no key is configured (loopback only: the operator).
 */
describe("worker mode: anonymous routes show error text only with the key", () => {
  let source: TestSource;
  const workers: WorkerHandle[] = [];
  let failedJob: string;

  beforeAll(async () => {
    source = await createTestSource();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await source?.dispose();
  });

  async function worker(env: Record<string, string>) {
    const config = loadConfig({
      ...source.env,
      WORKER_HOST: "127.0.0.1",
      WORKER_PORT: "0",
      WORKER_SYNC: "false",
      CAPTURE_ENABLED: "false",
      ...env,
    });
    const started = await startWorker(config, { logger: silentLogger });
    workers.push(started);
    return started;
  }

  const get = async (target: WorkerHandle, path: string, key?: string) => {
    const response = await fetch(`${target.url}/${path}`, { headers: key ? { "x-functions-key": key } : {} });
    return { status: response.status, text: await response.text() };
  };

  /** A reimport that fails for real: WORKER_SYNC=false never created the source's index. */
  async function failJob(target: WorkerHandle): Promise<string> {
    await createDocuments(source.container, makeDocs(3));
    const { id } = await target.services.jobs.start("reimport", source.name);
    const ended = await eventually(async () => {
      const { job } = await target.services.jobs.runChunk(id, 10_000);
      expect(job?.state).toBe("failed");
      return job;
    });
    expect(ended).toMatchObject({ lastError: expect.stringContaining("no alias") });
    return id;
  }

  it("health: a failing dependency's message only with the key", async () => {
    const [deadPort] = await freePorts(1);
    const target = await worker({
      DRIFTLESS_API_KEY: API_KEY,
      ELASTICSEARCH_URL: `http://127.0.0.1:${deadPort}`,
      ELASTICSEARCH_REQUEST_TIMEOUT_MS: "1000",
    });
    for (const key of [undefined, "wrong-key-wrong-key"]) {
      const anonymous = await get(target, "health", key);
      expect(anonymous.status).toBe(503);
      expect(JSON.parse(anonymous.text)).toMatchObject({
        status: "degraded",
        checks: { elasticsearch: { ok: false, error: REDACTED }, redis: { ok: true } },
      });
      expect(anonymous.text).not.toContain(String(deadPort));
      expect(anonymous.text).not.toContain("ECONNREFUSED");
    }
    const keyed = await get(target, "health", API_KEY);
    expect(JSON.parse(keyed.text)).toMatchObject({
      checks: { elasticsearch: { ok: false, error: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${deadPort}`) } },
    });
    const byParameter = await get(target, `health?code=${API_KEY}`);
    expect(byParameter.text).toContain("ECONNREFUSED");
  });

  it("jobs: a job's last error only with the key, in the job and in the list", async () => {
    const target = await worker({ DRIFTLESS_API_KEY: API_KEY });
    failedJob = await failJob(target);
    const job = JSON.parse((await get(target, `jobs/${failedJob}`)).text) as JobView;
    expect(job).toMatchObject({ jobId: failedJob, state: "failed", lastError: REDACTED });
    const list = JSON.parse((await get(target, `jobs?source=${source.name}`)).text) as { jobs: JobView[] };
    expect(list.jobs.find((entry) => entry.jobId === failedJob)).toMatchObject({
      state: "failed",
      lastError: REDACTED,
    });
    expect((JSON.parse((await get(target, `jobs/${failedJob}`, API_KEY)).text) as JobView).lastError).toContain(
      "no alias",
    );
    const keyedList = JSON.parse((await get(target, `jobs?source=${source.name}`, API_KEY)).text) as {
      jobs: JobView[];
    };
    expect(keyedList.jobs.find((entry) => entry.jobId === failedJob)?.lastError).toContain("no alias");
  });

  it("no key configured (loopback only): the operator sees everything", async () => {
    const target = await worker({});
    const job = JSON.parse((await get(target, `jobs/${failedJob}`)).text) as JobView;
    expect(job.lastError).toContain("no alias");
  });
});
