import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { once } from "node:events";
import { freePort } from "../scripts/stack/ports.js";
import { spawnNode } from "./child.js";
import { sleep } from "./measure.js";

export interface WorkerProcess {
  /** Base URL of its API, e.g. http://127.0.0.1:41234/api */
  readonly url: string;
  readonly pid: number;
  /** User + system CPU the process has used so far, from /proc (Linux). */
  cpuMs(): Promise<number>;
  /** Peak resident set size so far (VmHWM), from /proc (Linux). */
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The Node.js flags docs/operations.md recommends for worker mode, given to every worker-mode
 * process of the bench (the pipeline's too, pipeline.ts): a cap on V8's old generation.
 * Without one, V8 sizes the heap from the machine's memory and lets garbage pile up to several
 * times the live set before a full collection; with it, it collects sooner and the worker's
 * memory stays flat (docs/operations.md, memory of a worker, has both figures).
 * BENCH_WORKER_NODE_FLAGS replaces them ("" for none).
 */
export const WORKER_NODE_FLAGS: readonly string[] = (process.env.BENCH_WORKER_NODE_FLAGS ?? "--max-old-space-size=1024")
  .split(" ")
  .filter(Boolean);

const WORKER_ENTRY = "dist/cli/main.js";

/** `driftless worker` as a user runs it (the built dist/cli/main.js, `make bench` builds it), on a free loopback port. */
export async function startWorkerProcess(env: Record<string, string>, name: string): Promise<WorkerProcess> {
  if (!existsSync(WORKER_ENTRY))
    throw new Error(`${WORKER_ENTRY} is missing: run the bench with \`make bench\`, which builds it first`);
  const port = await freePort();
  const child = spawnNode(
    [...WORKER_NODE_FLAGS, WORKER_ENTRY, "worker"],
    { ...env, WORKER_HOST: "127.0.0.1", WORKER_PORT: String(port) },
    name,
  );
  const exited = once(child, "exit");
  const url = `http://127.0.0.1:${port}/api`;
  const pid = child.pid!;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode} before answering`);
    const healthy = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (waited > 60_000) {
      await stop();
      throw new Error("the worker did not answer /api/health within 60 s");
    }
    await sleep(100);
  }
  return {
    url,
    pid,
    async cpuMs() {
      // Fields 14 and 15 of /proc/<pid>/stat are utime and stime in clock ticks (100 per second).
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    async peakRssMb() {
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      return Math.round(kb / 1024);
    },
    stop,
  };
}
