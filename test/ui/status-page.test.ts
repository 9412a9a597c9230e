import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const API_KEY = "status-page-key-0123456789";

/** The status page in headless Chromium (Debian's package, driven by playwright-core), with data. */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("status page", () => {
  let source: TestSource;
  let worker: WorkerHandle;
  let browser: Browser;

  beforeAll(async () => {
    // A source with a backlog, a dead letter and a sync behind it, so every part of the page has data.
    source = await createTestSource({ env: { QUEUE_MAX_ATTEMPTS: "1" } });
    const config = loadConfig({ ...source.env, WORKER_PORT: "0", DRIFTLESS_API_KEY: API_KEY, WORKER_SYNC: "false", CAPTURE_ENABLED: "false" });
    worker = await startWorker(config, { logger: silentLogger });
    const queue = worker.services.sources.get(source.name)!.queue;
    await queue.enqueue(
      Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, pk: "t" })),
      { lane: "live", now: Date.now() },
    );
    const claim = await queue.claim({ max: 1, leaseMs: 60_000, now: Date.now() });
    await queue.deadLetter(claim.token, [{ member: claim.items[0]!.member, error: "elasticsearch 400: mapper_parsing_exception" }], Date.now());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await source?.dispose();
  });

  it("renders queue depth, dead letters and charts, and the screenshot shows them", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${worker.url}/ui?code=${API_KEY}`);
    await page.waitForSelector(`section[data-source="${source.name}"]`, { timeout: 15_000 });
    // Two polls give the sampled charts two points each.
    await page.waitForFunction('document.querySelectorAll("svg.chart polyline").length >= 2', undefined, { timeout: 15_000 });

    const section = page.locator(`section[data-source="${source.name}"]`);
    await expect.poll(() => section.locator('[data-tile="pending"] .value').textContent()).toBe("6");
    expect(await section.locator('[data-tile="dead"] .value').textContent()).toBe("1");
    expect(await section.locator("table").last().textContent()).toContain("mapper_parsing_exception");
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
    console.log(`[status page] screenshot ${file}: ${png.width}x${png.height}, ${blue} chart-blue pixels`);
  });

  it("is plain HTML that needs no key (it reads the API with the caller's own)", async () => {
    const response = await fetch(`${worker.url}/ui`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain("<title>driftless status</title>");
  });
});
