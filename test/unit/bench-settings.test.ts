import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseLoopLanes } from "../../bench/baselines.js";

const repoRoot = join(import.meta.dirname, "..", "..");

/** The bench run with `env`, stopped after 20 s: a setting it refuses must stop it long before. */
function bench(env: Record<string, string>) {
  return spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
}

describe("the bench's settings", () => {
  it("BENCH_LOOP_LANES: 1 unless given, a whole number from 1 to 8", () => {
    expect(parseLoopLanes(undefined)).toBe(1);
    expect(parseLoopLanes("")).toBe(1);
    expect(parseLoopLanes("3")).toBe(3);
    for (const bad of ["0", "9", "1.5", "three", "-1"])
      expect(() => parseLoopLanes(bad)).toThrow(/BENCH_LOOP_LANES must be a whole number from 1 to 8/);
  });

  it.each([
    [{ BENCH_ONLY: "pipeline,bogus" }, /^driftless bench: BENCH_ONLY names no phase bogus \(phases: ceilings, /],
    [{ BENCH_LOOP_LANES: "0" }, /^driftless bench: BENCH_LOOP_LANES must be a whole number from 1 to 8, got "0"$/],
  ])("refuses %o in one line, exit code 2, before it starts anything", (env, message) => {
    const run = bench(env);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr.trim()).toMatch(message);
  });
});
