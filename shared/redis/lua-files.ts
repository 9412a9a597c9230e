import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory holding the Lua scripts: `./lua` beside this module. `tsc` copies no assets, so
 * the build copies `shared/redis/lua/` beside the compiled module (`npm run build`, infra/package.sh,
 * both through scripts/copy-lua.mjs); from source (tsx, vitest) it is there already.
 */
export function findLuaDir(moduleUrl: string = import.meta.url): string {
  const dir = fileURLToPath(new URL("./lua", moduleUrl));
  if (!existsSync(dir))
    throw new Error(`Lua scripts not found in ${dir}: build with npm run build, which copies shared/redis/lua/ there`);
  return dir;
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
