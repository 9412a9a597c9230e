import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { TERMINAL_STATES, type Job, type JobView } from "../../shared/jobs/types.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createDocuments, makeDocs } from "../setup/documents.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const API_KEY = "status-page-key-0123456789";
const DOCS = 5;

/** Pixels of the screenshot within the element's box whose colour is within 24 of `hex` in each channel. */
async function pixelsOf(png: PNG, page: Page, selector: string, hex: number): Promise<number> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not on the page`);
  const [r0, g0, b0] = [(hex >> 16) & 0xff, (hex >> 8) & 0xff, hex & 0xff];
  let count = 0;
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(png.height, Math.ceil(box.y + box.height)); y++) {
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(png.width, Math.ceil(box.x + box.width)); x++) {
      const i = (y * png.width + x) * 4;
      if (
        Math.abs(png.data[i]! - r0) < 24 &&
        Math.abs(png.data[i + 1]! - g0) < 24 &&
        Math.abs(png.data[i + 2]! - b0) < 24
      )
        count++;
    }
  }
  return count;
}

/** The status page in headless Chromium (Debian's package, driven by playwright-core), with data. */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("status page", () => {
  let source: TestSource;
  let worker: WorkerHandle;
  let browser: Browser;
  let reimport: Job;

  beforeAll(async () => {
    // A source with a backlog, a dead letter, keys waiting to retry, a finished reimport and a sync
    // behind it, so every part of the page has data. The backoff is long, so the retries stay waiting.
    source = await createTestSource({
      env: { QUEUE_MAX_ATTEMPTS: "3", QUEUE_BACKOFF_BASE_MS: "600000", QUEUE_BACKOFF_MAX_MS: "600000" },
    });
    const config = loadConfig({
      ...source.env,
      WORKER_PORT: "0",
      DRIFTLESS_API_KEY: API_KEY,
      WORKER_SYNC: "false",
      CAPTURE_ENABLED: "false",
    });
    worker = await startWorker(config, { logger: silentLogger });
    const queue = worker.services.sources.get(source.name)!.queue;
    await queue.enqueue(
      Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, pk: "t" })),
      { lane: "live", now: Date.now() },
    );
    const claim = await queue.claim({ max: 1, leaseMs: 60_000, now: Date.now() });
    await queue.deadLetter(
      claim.token,
      [{ member: claim.items[0]!.member, error: "elasticsearch 400: mapper_parsing_exception" }],
      Date.now(),
    );
    // Two failed attempts: pending again, but not due for ten minutes (pending 6, due 4).
    const failing = await queue.claim({ max: 2, leaseMs: 60_000, now: Date.now() });
    const retried = await queue.retry(
      failing.token,
      failing.items.map((item) => ({ member: item.member, error: "cosmos 503" })),
      Date.now(),
    );
    expect(retried).toMatchObject({ settled: 2, deadLettered: 0 });

    // A reimport run to its end by hand (this worker runs no job loop), so the jobs block has counts.
    await createDocuments(source.container, makeDocs(DOCS));
    await worker.services.ensureIndexes();
    reimport = await worker.services.jobs.start("reimport", source.name);
    for (let chunk = 0; chunk < 100 && !TERMINAL_STATES.has(reimport.state); chunk++) {
      reimport = (await worker.services.jobs.runChunk(reimport.id, 5_000)).job!;
    }
    expect(reimport).toMatchObject({ state: "succeeded", scanned: DOCS, indexed: DOCS });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await source?.dispose();
  });

  it("renders queue depth, dead letters, jobs and charts, and the screenshot shows them", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${worker.url}/ui?code=${API_KEY}`);
    await page.waitForSelector(`section[data-source="${source.name}"]`, { timeout: 15_000 });
    // Two polls give the sampled charts two points each.
    await page.waitForFunction('document.querySelectorAll("svg.chart polyline").length >= 2', undefined, {
      timeout: 15_000,
    });

    // The errors chart: dead letters and keys waiting to retry, one line each once two samples are in.
    await page.waitForFunction(
      "document.querySelectorAll('figure[data-chart=\"errors\"] polyline').length === 2",
      undefined,
      { timeout: 60_000 },
    );

    // A job started while the page is open shows at the next refresh, queued (no runner here), above the finished reimport.
    const started = await fetch(`${worker.url}/sources/${source.name}/reconcile`, {
      method: "POST",
      headers: { "x-functions-key": API_KEY },
    });
    expect(started.status).toBe(202);
    const { jobId } = (await started.json()) as { jobId: string };
    const listed = await fetch(`${worker.url}/jobs?source=${source.name}&limit=5`);
    expect(((await listed.json()) as { jobs: JobView[] }).jobs.map((job) => job.jobId)).toEqual([jobId, reimport.id]);
    await page.waitForSelector(`tr[data-job="${jobId}"]`, { timeout: 60_000 });

    const section = page.locator(`section[data-source="${source.name}"]`);
    await expect.poll(() => section.locator('[data-tile="pending"] .value').textContent()).toBe("6");
    expect(await section.locator('[data-tile="dead"] .value').textContent()).toBe("1");
    expect(await section.locator("table").last().textContent()).toContain("mapper_parsing_exception");
    const rows = section.locator("table.jobs tr[data-job]");
    expect(
      await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-job"), tr.getAttribute("data-state")])),
    ).toEqual([
      [jobId, "queued"],
      [reimport.id, "succeeded"],
    ]);
    const cells = (id: string) => section.locator(`tr[data-job="${id}"] td`).allTextContents();
    // job, state, scanned, indexed, enqueued, missing, errors, started, ended
    expect((await cells(reimport.id)).slice(0, 7)).toEqual([
      "reimport in-place",
      "succeeded",
      String(DOCS),
      String(DOCS),
      "0",
      "0",
      "0",
    ]);
    expect((await cells(jobId)).slice(0, 8)).toEqual(["reconcile", "queued", "0", "0", "0", "0", "0", "not yet"]);
    expect(await section.locator("h3", { hasText: "jobs" }).textContent()).toBe("jobs (1 active)");
    expect(errors).toEqual([]);

    const file = join(mkdtempSync(join(tmpdir(), "driftless-ui-")), "status.png");
    const png = PNG.sync.read(await page.screenshot({ path: file, fullPage: true }));
    // The chart lines are drawn in their colours: count the pixels of the queue-depth blue.
    let blue = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (Math.abs(r - 0x2e) < 24 && Math.abs(g - 0x90) < 24 && Math.abs(b - 0xfa) < 24) blue++;
    }
    expect(png.width).toBe(1200);
    expect(blue).toBeGreaterThan(200);
    // The errors chart draws both lines (dead letters red at half height, retries purple at the top)
    // and the jobs table its state pills (the reimport's green).
    const errorsChart = `section[data-source="${source.name}"] figure[data-chart="errors"] svg`;
    const red = await pixelsOf(png, page, errorsChart, 0xf04438);
    const purple = await pixelsOf(png, page, errorsChart, 0x7a5af8);
    const green = await pixelsOf(png, page, `section[data-source="${source.name}"] table.jobs`, 0x12b76a);
    expect(red).toBeGreaterThan(100);
    expect(purple).toBeGreaterThan(100);
    expect(green).toBeGreaterThan(100);
    console.log(
      `[status page] screenshot ${file}: ${png.width}x${png.height}, ${blue} chart-blue, ${red} red and ${purple} purple errors-chart, ${green} job-green pixels`,
    );
  }, 120_000);

  it("is plain HTML that needs no key (it reads the API with the caller's own)", async () => {
    const response = await fetch(`${worker.url}/ui`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain("<title>driftless status</title>");
  }, 120_000);
});
