/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof; BENCH_PROFILE=1 writes them to
 * bench/results/profiles): self time by function and by package, heaviest first.
 *
 * Usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-top <file.cpuprofile> [top]");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = url.replace(/^file:\/\//, "").replace(`${process.cwd()}/`, "");
  const name = `${functionName || "(anonymous)"}  ${where ? `${where}:${lineNumber + 1}` : ""}`.trim();
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byPackage.set(packageOf(where, functionName), (byPackage.get(packageOf(where, functionName)) ?? 0) + us);
}

function packageOf(where: string, functionName: string): string {
  if (!where) return functionName.startsWith("(") ? functionName : "(native / V8)";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where);
  if (modules) return modules[1]!;
  if (where.startsWith("node:")) return "node core";
  return where.split("/").slice(0, 2).join("/");
}

const print = (title: string, entries: Map<string, number>, count: number) => {
  console.log(`\n${title} (self time, ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
  }
};
print("by package or folder", byPackage, 15);
print("by function", byFunction, top);
