import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { PROFILE_DIR } from "./child.js";

interface Profiler {
  readonly extension: string;
  start(session: Session): Promise<void>;
  stop(session: Session): Promise<unknown>;
}

/** V8's sampling CPU profiler, every 0.5 ms (it counts wall time: bench/README.md). */
const CPU: Profiler = {
  extension: "cpuprofile",
  async start(session) {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 500 });
    await session.post("Profiler.start");
  },
  stop: async (session) => (await session.post("Profiler.stop")).profile,
};

/**
 * V8's sampling heap profiler: where the bytes were allocated, objects since collected included;
 * with `survivors` false, only objects that outlived the young generation's collections (or are
 * still alive), which is what those collections copy and promote.
 */
const heapProfiler = (survivors: boolean): Profiler => ({
  extension: survivors ? "survivors.heapprofile" : "heapprofile",
  async start(session) {
    await session.post("HeapProfiler.enable");
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: !survivors,
    });
  },
  stop: async (session) => (await session.post("HeapProfiler.stopSampling")).profile,
});

/**
 * Profiles `work` alone (not the process's start-up) when BENCH_PROFILE is set: its CPU with `1`,
 * its allocations with `heap`, those that outlived the young generation with `survivors`. Writes
 * `<name>.cpuprofile`, `<name>.heapprofile` or `<name>.survivors.heapprofile` next to the others.
 * With `perf`, the run is recorded by `perf record` from outside (bench/README.md): this appends
 * the process, `name` and the start and end of `work` to `perf-windows.txt`, in seconds of the
 * monotonic clock that `perf record -k CLOCK_MONOTONIC` stamps its samples with.
 */
export async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const wanted = process.env.BENCH_PROFILE;
  if (!wanted) return work();
  if (wanted === "perf") return inPerfWindow(name, work);
  const profiler = wanted === "heap" || wanted === "survivors" ? heapProfiler(wanted === "survivors") : CPU;
  const session = new Session();
  session.connect();
  await profiler.start(session);
  try {
    return await work();
  } finally {
    const profile = await profiler.stop(session);
    await mkdir(PROFILE_DIR, { recursive: true });
    await writeFile(join(PROFILE_DIR, `${name}.${profiler.extension}`), JSON.stringify(profile));
    session.disconnect();
  }
}

async function inPerfWindow<T>(name: string, work: () => Promise<T>): Promise<T> {
  const seconds = () => (Number(process.hrtime.bigint() / 1000n) / 1e6).toFixed(6);
  const start = seconds();
  try {
    return await work();
  } finally {
    await mkdir(PROFILE_DIR, { recursive: true });
    await appendFile(join(PROFILE_DIR, "perf-windows.txt"), `${process.pid} ${name} ${start} ${seconds()}\n`);
  }
}
