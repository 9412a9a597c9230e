import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const PROFILE_DIR = join("bench", "results", "profiles");

/**
 * `node --cpu-prof` flags for a child when BENCH_PROFILE is set, naming the profile after `name`;
 * none for an empty name (a child that profiles its own timed part, see inspector-profile.ts).
 * With BENCH_PROFILE=perf, `--perf-basic-prof` for every child, so `perf` can name its JavaScript.
 */
export function profileFlags(name: string): string[] {
  if (process.env.BENCH_PROFILE === "perf") return ["--perf-basic-prof"];
  if (!process.env.BENCH_PROFILE || name === "") return [];
  mkdirSync(PROFILE_DIR, { recursive: true });
  return ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`];
}

/** Spawns a TypeScript entry point through tsx with an IPC channel, after `nodeFlags` (Node.js's own). */
export function spawnTs(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  name: string,
  nodeFlags: readonly string[] = [],
): ChildProcess {
  return spawnNode([...nodeFlags, "--import", "tsx", script, ...args], env, name);
}

/**
 * Node.js flags for every child alike (BENCH_CHILD_NODE_FLAGS, space-separated): to try a V8
 * setting on the processes under test. The baselines' loops run in the bench process itself,
 * which takes its flags on its own command line.
 */
const CHILD_FLAGS = (process.env.BENCH_CHILD_NODE_FLAGS ?? "").split(" ").filter(Boolean);

/** Spawns `node <args>` (after the profiling flags, if any) with an IPC channel. */
export function spawnNode(args: readonly string[], env: Record<string, string>, name: string): ChildProcess {
  return spawn(process.execPath, [...CHILD_FLAGS, ...profileFlags(name), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}
