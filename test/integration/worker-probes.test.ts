import { afterEach, describe, expect, it } from "vitest";
import { freePorts } from "../../scripts/stack/ports.js";
import { createTestSource, eventually } from "../setup/fixtures.js";
import { spawnWorker, type WorkerProcess } from "../setup/worker-process.js";

/**
 * Liveness and readiness, apart, on a real `driftless worker` process: /api/live answers while
 * the process does, whatever its dependencies; /api/ready answers 503 naming the dependency that
 * does not answer, and 200 once all do. Without a key, as an orchestrator's probe calls them.
 */
describe("worker mode: /api/live and /api/ready", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(env: Record<string, string>) {
    const source = await createTestSource();
    cleanups.push(() => source.dispose());
    const [port] = await freePorts(1);
    const worker: WorkerProcess = spawnWorker("probes", {
      ...source.env,
      CAPTURE_ENABLED: "true",
      WORKER_PORT: String(port),
      ...env,
    });
    cleanups.push(() => worker.kill());
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/${path}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    // Up once it listens: until then fetch fails and eventually tries again.
    await eventually(async () => expect((await get("live")).status).toBe(200), {
      timeoutMs: 45_000,
      intervalMs: 250,
    }).catch((error: unknown) => {
      throw new Error(`worker did not come up: ${worker.stderr()}`, { cause: error });
    });
    return { get };
  }

  it("with Elasticsearch unreachable: live is 200, ready is 503 naming elasticsearch and nothing else", async () => {
    const [deadPort] = await freePorts(1);
    const { get } = await start({
      ELASTICSEARCH_URL: `http://127.0.0.1:${deadPort}`,
      ELASTICSEARCH_REQUEST_TIMEOUT_MS: "1000",
    });

    expect(await get("live")).toEqual({ status: 200, body: { status: "live" } });
    const ready = await get("ready");
    expect(ready).toEqual({ status: 503, body: { status: "not_ready", unavailable: ["elasticsearch"] } });
    // Names only: the dependency's own message (its host and port) stays behind /api/health's key rules.
    expect(JSON.stringify(ready.body)).not.toContain(String(deadPort));
  }, 90_000);

  it("with every dependency up: ready is 200", async () => {
    const { get } = await start({});
    expect(await get("ready")).toEqual({ status: 200, body: { status: "ready" } });
    expect(await get("live")).toEqual({ status: 200, body: { status: "live" } });
  }, 90_000);
});
