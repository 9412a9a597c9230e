import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminal } from "../../shared/jobs/store.js";
import { runJobLoop } from "../../shared/jobs/loop.js";
import type { Job } from "../../shared/jobs/types.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { runSyncPass } from "../../shared/sync/pass.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { differences } from "../setup/compare.js";
import { createDocuments, makeDocs, retrying, type TestDoc } from "../setup/documents.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";

const DOCS = 20_000;
// Big pages: every emulator query page scans (and sorts) the whole container, in time that grows
// with the square of its size.
const PAGE = 5000;
const PAGES = DOCS / PAGE;

/**
 * Reimport of a container of 20,000 documents against the real emulator, Elasticsearch and
 * Redis: live changes flowing through the queue during the scan win over the scan's copies, and
 * a runner killed half-way is resumed from its saved continuation instead of starting over.
 */
describe("reimport", () => {
  let source: TestSource;
  let services: Services;
  let docs: TestDoc[];

  beforeAll(async () => {
    source = await createTestSource({
      // A query page over 20,000 documents keeps the single-threaded emulator busy for seconds.
      env: { REIMPORT_PAGE_SIZE: String(PAGE), JOBS_LEASE_MS: "3000", COSMOS_REQUEST_TIMEOUT_MS: "60000" },
    });
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
    docs = makeDocs(DOCS);
    const started = Date.now();
    await createDocuments(source.container, docs);
    console.log(`[jobs-reimport] created ${DOCS} documents in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  // A rebuild publishes its new index to the sync and starts scanning at once, without waiting for
  // the sync processes to notice: a live change the scan has read past must still reach the new
  // index, or it would be stale once the alias swaps to it (shared/elastic/fan-out.ts says why it does).
  it.each(["in place", "rebuild"] as const)(
    "%s: indexes 20,000 documents while live updates keep flowing, and every live update ends in its newest version",
    async (mode) => {
      const queue = services.sources.get(source.name)!.queue;
      const stop = new AbortController();
      // A worker's two halves: the drain loop for live changes, the job loop for the reimport.
      const sync = runSyncPass(services, { budgetMs: 10 * 60_000, signal: stop.signal });
      const jobLoop = runJobLoop(services.jobs, { pollMs: 100, logger: silentLogger, signal: stop.signal });
      try {
        const started = Date.now();
        const job = await services.jobs.start("reimport", source.name, mode === "rebuild" ? { mode: "rebuild" } : {});
        let round = 0;
        let updatesWhileRunning = 0;
        let current: Job | undefined = job;
        while (current && !isTerminal(current.state)) {
          round++;
          // Ten documents spread over the container, so some were scanned already and some not yet.
          const picked = Array.from({ length: 10 }, (_, k) => docs[(round * 997 + k * 2003) % DOCS]!);
          for (const doc of picked) {
            await retrying(() =>
              source.container.items.upsert({ ...doc, title: `live ${round}`, n: doc.n + round * 100_000 }),
            );
          }
          await queue.enqueue(
            picked.map((doc) => ({ id: doc.id, pk: doc.tenant })),
            { lane: "live", now: Date.now() },
          );
          current = await services.jobs.get(job.id);
          if (current?.state === "running") updatesWhileRunning += picked.length;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const seconds = (Date.now() - started) / 1000;
        console.log(
          `[jobs-reimport] ${mode} reimport of ${DOCS} documents took ${seconds.toFixed(1)} s with ${round * 10} live updates`,
        );

        // Every document counted once; `errors` may count a page the emulator was too slow to serve (read again).
        expect(current).toMatchObject({ state: "succeeded", scanned: DOCS, pages: PAGES });
        expect(current!.indexed + current!.enqueued).toBe(DOCS);
        expect(updatesWhileRunning).toBeGreaterThan(0);

        await eventually(
          async () => expect(await queue.stats(Date.now())).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 }),
          {
            timeoutMs: 60_000,
          },
        );
      } finally {
        stop.abort();
        await Promise.all([sync, jobLoop]);
      }
      expect(await differences(source)).toEqual([]);
    },
    240_000,
  );

  it("resumes a runner killed half-way from its last committed page instead of starting over", async () => {
    // `driftless reimport --wait` works on the job itself while it waits; it is killed mid-scan.
    const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "reimport", source.name, "--wait"], {
      env: { ...process.env, ...source.env, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, "exit");
    let jobId = "";
    try {
      jobId = await eventually(async () => (JSON.parse(stdout.split("\n")[0]!) as { jobId: string }).jobId, {
        timeoutMs: 60_000,
      });
      await eventually(async () => expect((await services.jobs.get(jobId))!.pages).toBeGreaterThanOrEqual(2), {
        timeoutMs: 120_000,
        intervalMs: 100,
      });
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const atKill = (await services.jobs.get(jobId))!;
    expect(atKill.state).toBe("running");
    expect(atKill.scanned).toBe(atKill.pages * PAGE);
    expect(atKill.scanned).toBeLessThan(DOCS);
    expect(stderr).toMatch(/scanned/); // the progress display

    // The dead runner's lease expires (JOBS_LEASE_MS=3000), then one page at a time resumes the scan.
    const first = await eventually(
      async () => {
        const result = await services.jobs.runChunk(jobId, 60_000, { maxPages: 1 });
        expect(result.ran).toBe(true);
        return result.job!;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(first.pages).toBe(atKill.pages + 1);
    expect(first.scanned).toBe(atKill.scanned + PAGE);

    let job = first;
    while (!isTerminal(job.state)) job = (await services.jobs.runChunk(jobId, 60_000)).job!;
    // Every document counted once: a restart from the beginning would have scanned more.
    expect(job).toMatchObject({ state: "succeeded", scanned: DOCS, pages: PAGES });
    expect(job.indexed + job.enqueued).toBe(DOCS);
    await source.elastic.indices.refresh({ index: source.config.sources[0]!.index });
    expect((await source.elastic.count({ index: source.config.sources[0]!.index })).count).toBe(DOCS);
  }, 240_000);
});
