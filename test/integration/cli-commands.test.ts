import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/stack/ports.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

/** The command as its bin runs it (see cli.test.ts), with the test source's environment. */
function driftless(args: string[], env: Record<string, string | undefined>) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "error", ...env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const DOCS = 6;

/**
 * Each command of the CLI's local mode as a real process against the local stack: its exit code,
 * what it prints, and what it changed. One source goes through enqueue → sync → status →
 * reimport → reconcile → jobs, in that order.
 */
describe("driftless commands against the local stack", () => {
  let source: TestSource;
  let services: Services;
  const jobIds: string[] = [];

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger);
    for (let n = 0; n < DOCS; n++)
      await source.container.items.create({ id: `d${n}`, tenant: `t${n % 2}`, title: `doc ${n}`, n });
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  const stats = () => services.sources.get(source.name)!.queue.stats(Date.now());

  it("enqueue then sync --until-idle: exit 0, the sync report as JSON, the documents indexed", async () => {
    for (let n = 0; n < DOCS; n++) {
      const enqueued = driftless(["enqueue", source.name, `d${n}`, `t${n % 2}`], source.env);
      expect(enqueued, `d${n}`).toEqual({ code: 0, stdout: '{"enqueued":1,"duplicates":0}\n', stderr: "" });
    }
    expect(await stats()).toMatchObject({ pending: DOCS });
    const sync = driftless(["sync", "--until-idle"], source.env);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ [source.name]: { indexed: DOCS, deadLettered: 0, retried: 0 } });
    expect((await source.indexed()).size).toBe(DOCS);
    expect(await stats()).toMatchObject({ pending: 0, inflight: 0 });
  }, 240_000);

  it("status: exit 0, a table row for the source; --json the status route's body", async () => {
    const table = driftless(["status"], source.env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${source.name}.*│\\s+0\\s+│\\s+0\\s+│\\s+0\\s+│`));
    const json = driftless(["status", "--json"], source.env);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { sources: unknown[] }).sources).toEqual([
      expect.objectContaining({ name: source.name, pending: 0, inflight: 0, deadLettered: 0 }),
    ]);
  }, 120_000);

  it("reimport --wait: exit 0 and the succeeded job; reconcile --wait removes what Cosmos no longer has", async () => {
    const reimport = driftless(["reimport", source.name, "--wait"], source.env);
    expect(reimport.code, reimport.stderr).toBe(0);
    const [queued, ended] = reimport.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(ended).toMatchObject({ jobId: queued!.jobId, kind: "reimport", state: "succeeded", scanned: DOCS });
    jobIds.push(String(queued!.jobId));

    await source.container.item("d0", "t0").delete();
    await source.container.item("d1", "t1").delete();
    // A third of the index gone is past RECONCILE_MAX_DELETE_SHARE (25%): the job fails, exit 1, one line saying why.
    const guarded = driftless(["reconcile", source.name, "--wait"], source.env);
    expect(guarded.code, guarded.stderr).toBe(1);
    const [failed] = guarded.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(guarded.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(`^driftless: job ${String(failed!.jobId)} failed: reconcile stopped: 2 of the 6 indexed documents`),
    );
    jobIds.push(String(failed!.jobId));
    expect((await source.indexed()).size).toBe(DOCS);

    const reconcile = driftless(["reconcile", source.name, "--wait"], {
      ...source.env,
      RECONCILE_MAX_DELETE_SHARE: "0.5",
    });
    expect(reconcile.code, reconcile.stderr).toBe(0);
    const [started, done] = reconcile.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(done).toMatchObject({ jobId: started!.jobId, kind: "reconcile", state: "succeeded", missing: 2 });
    jobIds.push(String(started!.jobId));
    // The reconcile queued the two deletes; the next sync takes them out of the index.
    expect(driftless(["sync", "--until-idle"], source.env).code).toBe(0);
    expect([...(await source.indexed()).keys()].sort()).toEqual(["d2", "d3", "d4", "d5"]);
  }, 240_000);

  it("jobs lists the three jobs (table and --json) and shows one; an unknown job is exit 1 with one line", async () => {
    const table = driftless(["jobs"], source.env);
    expect(table.code, table.stderr).toBe(0);
    for (const id of jobIds) expect(table.stdout).toContain(id);
    const json = driftless(["jobs", "--json"], source.env);
    expect(json.code, json.stderr).toBe(0);
    const listed = (JSON.parse(json.stdout) as { jobs: { jobId: string; state: string }[] }).jobs.filter((job) =>
      jobIds.includes(job.jobId),
    );
    expect(Object.fromEntries(listed.map((job) => [job.jobId, job.state]))).toEqual({
      [jobIds[0]!]: "succeeded",
      [jobIds[1]!]: "failed",
      [jobIds[2]!]: "succeeded",
    });
    const shown = driftless(["jobs", jobIds[1]!], source.env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      jobId: jobIds[1],
      kind: "reconcile",
      state: "failed",
      lastError: expect.stringContaining("RECONCILE_MAX_DELETE_SHARE"),
    });
    const unknown = driftless(["jobs", "no-such-job"], source.env);
    expect(unknown).toMatchObject({ code: 1, stdout: "" });
    expect(unknown.stderr).toMatch(/^driftless: job_not_found: no job "no-such-job"\n$/);
  }, 180_000);

  it("an unknown source is one line and a failure code; a missing argument is a usage error (2)", () => {
    const unknown = driftless(["reimport", "no-such-source"], source.env);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(/^driftless: unknown_source: no source named "no-such-source"\n$/);
    expect(unknown.code).toBe(1);
    const usage = driftless(["reconcile"], source.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing required argument 'source'/);
  }, 120_000);

  it("sync with Elasticsearch unreachable: exit 4, one error line, no stack trace", async () => {
    const down = driftless(["sync", "--until-idle"], {
      ...source.env,
      ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}`,
      ELASTICSEARCH_REQUEST_TIMEOUT_MS: "2000",
    });
    expect(down.stdout).toBe("");
    expect(down.code, down.stderr).toBe(4);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).toMatch(/^driftless: \w+: /);
    expect(down.stderr).not.toMatch(/^\s+at /m);
  }, 120_000);
});
