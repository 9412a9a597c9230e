// tsc copies no assets: this puts shared/redis/lua/ beside the compiled shared/redis/ under
// <outDir> (dist/ by default), where shared/redis/lua-files.ts reads the scripts at run time.
// `npm run build` (and so `make build`) and infra/package.sh run it after tsc.
//
// Usage: node scripts/copy-lua.mjs [outDir]
import { cpSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outDir = resolve(process.argv[2] ?? join(root, "dist"));
const target = join(outDir, "shared", "redis", "lua");
// A script deleted or renamed in the source leaves no stale copy behind.
rmSync(target, { recursive: true, force: true });
cpSync(join(root, "shared", "redis", "lua"), target, { recursive: true });
