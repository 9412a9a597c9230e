import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory holding the queue's Lua scripts.
 *
 * `tsc` copies no assets, so compiled code in `dist/shared/queue/` has no `lua/` beside it. The
 * scripts are therefore read from the source tree: `./lua` beside this module when running from
 * source (tsx, vitest), else the first `shared/queue/lua` found walking up from this module
 * (`<root>/shared/queue/lua` from `<root>/dist/shared/queue/`). One copy of each script, no build
 * step; a deployment package must carry `shared/queue/lua/` next to `dist/`.
 */
export function findLuaDir(moduleUrl: string = import.meta.url, sourceDir = "shared/queue/lua"): string {
  const beside = fileURLToPath(new URL("./lua", moduleUrl));
  if (existsSync(beside)) return beside;
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, ...sourceDir.split("/"));
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`Lua scripts (${sourceDir}) not found beside or above ${start}`);
  }
}

const INCLUDE = /^--- @include "([\w-]+)"[ \t]*$/gm;

/**
 * The text of `lua/<file>` with each `--- @include "name"` line replaced by `lua/includes/name.lua`
 * (BullMQ's convention), so helpers shared by several scripts are written once. A helper included
 * twice is inlined once.
 */
export function readLua(dir: string, file: string, included = new Set<string>()): string {
  return readFileSync(join(dir, file), "utf8").replace(INCLUDE, (_line, name: string) => {
    if (included.has(name)) return "";
    included.add(name);
    return readLua(dir, join("includes", `${name}.lua`), included);
  });
}
