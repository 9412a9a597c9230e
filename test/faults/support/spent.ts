import { parsePrometheus, total } from "../../setup/prometheus.js";
import type { WorkerProcess } from "../../setup/worker-process.js";

/**
 * Attempts spent by the live workers since they started, from their own counters (`GET /metrics`):
 * keys sent back to wait for another attempt, and keys dead-lettered. Unlike a sample of the
 * queue's attempts hash, a counter cannot miss an attempt spent and settled between two samples:
 * one spent attempt makes this 1.
 */
export async function attemptsSpent(workers: readonly WorkerProcess[], source: string): Promise<number> {
  let spent = 0;
  for (const worker of workers.filter((entry) => entry.alive())) {
    const text = await (await fetch((await worker.url()).replace(/\/api$/, "/metrics"))).text();
    const samples = parsePrometheus(text);
    spent +=
      total(samples, "driftless_keys_retried_total", { source }) +
      total(samples, "driftless_keys_dead_lettered_total", { source });
  }
  return spent;
}
