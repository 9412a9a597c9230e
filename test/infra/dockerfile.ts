import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./bicep-tree.js";

/**
 * The Dockerfile read as Docker reads it: comments dropped, `\` continuations joined, one
 * instruction per entry, grouped by stage (`FROM … AS name`). No Docker engine runs here, so the
 * tests check the instructions themselves and replay the runtime stage's files and command.
 */

export interface Instruction {
  readonly keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (pending === "" && /^\s*#/.test(line)) continue;
    if (pending !== "" && /^\s*#/.test(line)) continue; // comments inside a continuation are dropped too
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const whole = (pending + line.trim()).trim();
    pending = "";
    if (whole !== "") logical.push(whole);
  }
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const entry of logical) {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(entry)!;
    const upper = keyword.toUpperCase();
    if (upper === "FROM") {
      const [, image = "", name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ image, name, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${upper} before the first FROM`);
    stage.instructions.push({ keyword: upper, args });
  }
  return stages;
}

export const readDockerfile = () => parseDockerfile(readFileSync(join(repoRoot, "Dockerfile"), "utf8"));

export const instructions = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

/** An exec-form (`["a", "b"]`) argument list; shell form is refused, since it puts a shell in front of the signals. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string"))
    throw new Error(`not exec form: ${args}`);
  return parsed as string[];
}

/** `COPY [--from=x] [--chown=…] src… dest` → its sources, destination and `--from`. */
export function copyArgs(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith("--"));
  const paths = words.filter((word) => !word.startsWith("--"));
  const from = flags.find((flag) => flag.startsWith("--from="))?.slice("--from=".length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** `ENV A=1 B=2` (the only form this Dockerfile uses) → { A: "1", B: "2" }. */
export function envPairs(args: string): Record<string, string> {
  return Object.fromEntries(
    args.split(/\s+/).map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`ENV in the key=value form only: ${args}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
