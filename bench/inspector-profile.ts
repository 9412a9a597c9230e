import { mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { PROFILE_DIR } from "./child.js";

/**
 * Profiles `work` alone (not the process's start-up) with the V8 sampling profiler when
 * BENCH_PROFILE is set, and writes `<name>.cpuprofile` next to the others.
 */
export async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!process.env.BENCH_PROFILE) return work();
  if (process.env.BENCH_PROFILE === "heap") return heapProfiled(name, work);
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    await mkdir(PROFILE_DIR, { recursive: true });
    await writeFile(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** BENCH_PROFILE=heap: V8's sampling heap profiler over `work`, `<name>.heapprofile`: where the bytes were allocated. */
async function heapProfiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  try {
    return await work();
  } finally {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    await mkdir(PROFILE_DIR, { recursive: true });
    await writeFile(join(PROFILE_DIR, `${name}.heapprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
