import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../shared/redis/scripts.js";
import { services } from "../setup/services.js";
import { repoRoot } from "./bicep-tree.js";

/*
 * The deployment package, built by infra/package.sh exactly as the deploy guide's steps do
 * (docs/deploy.md): compiled functions, production dependencies only, host.json, and every Lua
 * script, copied beside the compiled loader (dist/shared/redis/lua/, read by shared/redis/lua-files.ts). The
 * package is then loaded the way the Functions host loads it, in a separate Node process with
 * only the package on disk, and its scripts are loaded into the real Redis.
 */

const run = promisify(execFile);
let workDir: string;
let stage: string;
let zipFile: string;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "driftless-package-"));
  stage = join(workDir, "stage");
  zipFile = join(workDir, "driftless-functions.zip");
  await run("bash", [join(repoRoot, "infra/package.sh"), stage, zipFile], {
    cwd: repoRoot,
    timeout: 300_000,
    maxBuffer: 16 << 20,
  });
}, 320_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("infra/package.sh", () => {
  it("stages compiled functions, host.json, package.json and every Lua script", () => {
    const functions = readdirSync(join(repoRoot, "functions")).filter((f) => f.endsWith(".ts"));
    for (const file of functions)
      expect(existsSync(join(stage, "dist/functions", file.replace(/\.ts$/, ".js"))), file).toBe(true);
    expect(JSON.parse(readFileSync(join(stage, "package.json"), "utf8")).main).toBe("dist/functions/*.js");
    expect(readFileSync(join(stage, "host.json"), "utf8")).toBe(readFileSync(join(repoRoot, "host.json"), "utf8"));
    expect(filesUnder(join(stage, "dist/shared/redis/lua"))).toEqual(filesUnder(join(repoRoot, "shared/redis/lua")));
    // Nothing from the source tree, and no local-stack scripts.
    expect(existsSync(join(stage, "shared")), "shared").toBe(false);
    for (const dir of ["test", "scripts", "bench", "infra", ".driftless", "dist/scripts"])
      expect(existsSync(join(stage, dir)), dir).toBe(false);
  });

  it("installs the production dependencies and none of the development ones", () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    for (const name of Object.keys(manifest.dependencies!))
      expect(existsSync(join(stage, "node_modules", name)), name).toBe(true);
    for (const name of [
      "vitest",
      "typescript",
      "tsx",
      "@vercel/cosmosdb-server",
      "web-tree-sitter",
      "azure-functions-core-tools",
    ]) {
      expect(existsSync(join(stage, "node_modules", name)), name).toBe(false);
    }
  });

  it("zips the package with its files at the root", async () => {
    const { stdout } = await run("unzip", ["-Z1", zipFile], { maxBuffer: 64 << 20 });
    const entries = new Set(stdout.split("\n"));
    expect(entries.has("host.json")).toBe(true);
    expect(entries.has("package.json")).toBe(true);
    expect(entries.has("dist/functions/sync-timer.js")).toBe(true);
    expect(entries.has("dist/shared/redis/lua/claim-10.lua")).toBe(true);
    expect(entries.has("dist/shared/redis/lua/includes/codes.lua")).toBe(true);
    expect(entries.has("node_modules/ioredis/package.json")).toBe(true);
  });

  it("loads every function module and every Redis script from the package alone", async () => {
    const { redisUrl, elasticsearchUrl, cosmos } = services();
    const probe = `
      import { readdirSync } from "node:fs";
      const functions = readdirSync("dist/functions").filter((f) => f.endsWith(".js"));
      for (const file of functions) await import("./dist/functions/" + file);
      const { findLuaDir } = await import("./dist/shared/redis/lua-files.js");
      const { scriptSources } = await import("./dist/shared/redis/scripts.js");
      const { Redis } = await import("ioredis");
      const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true });
      await redis.connect();
      const loaded = {};
      for (const [name, lua] of scriptSources()) loaded[name] = await redis.script("LOAD", lua);
      await redis.quit();
      console.log(JSON.stringify({ functions, luaDir: findLuaDir(), loaded }));
      process.exit(0);
    `;
    const env = {
      PATH: process.env.PATH!,
      REDIS_URL: redisUrl,
      ELASTICSEARCH_URL: elasticsearchUrl,
      COSMOS_ENDPOINT: cosmos.endpoint,
      COSMOS_KEY: cosmos.key,
      DRIFTLESS_SOURCES: JSON.stringify([
        { name: "pkg", database: "driftless", container: "pkg", partitionKeyPath: "/id", index: "pkg" },
      ]),
      LOG_LEVEL: "silent",
    };
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], {
      cwd: stage,
      env,
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      functions: string[];
      luaDir: string;
      loaded: Record<string, string>;
    };
    expect(result.functions).toContain("sync-timer.js");
    expect(result.luaDir).toBe(join(stage, "dist/shared/redis/lua"));
    expect(Object.keys(result.loaded).sort()).toEqual(Object.keys(SCRIPTS).sort());
    for (const sha of Object.values(result.loaded)) expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });
  it("runs the packaged CLI without scripts/, and its stack commands say in one line that they need a clone", async () => {
    // The package leaves out scripts/ (the local stack); the CLI imported it statically, so the
    // packaged CLI failed to load at all, --version included.
    const cli = (args: string[]) =>
      run(process.execPath, ["dist/cli/main.js", ...args], {
        cwd: stage,
        env: { PATH: process.env.PATH! },
        timeout: 30_000,
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout: string; stderr: string }) => ({
          code: error.code,
          stdout: error.stdout,
          stderr: error.stderr,
        }),
      );
    expect(existsSync(join(stage, "dist/scripts"))).toBe(false);
    const version = await cli(["--version"]);
    expect(version).toMatchObject({ code: 0, stderr: "" });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version);
    for (const args of [
      ["stack", "split", "db", "container"],
      ["stack", "up", "--dir", join(workDir, "no-stack")],
    ]) {
      const refused = await cli(args);
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stderr.trim().split("\n"), args.join(" ")).toEqual([
        expect.stringMatching(/^driftless: dev_only: .*not in this package/),
      ]);
    }
    expect(existsSync(join(workDir, "no-stack"))).toBe(false);
  });
});

/**
 * `.funcignore` decides what `func azure functionapp publish` uploads. It keeps to a subset of
 * gitignore syntax (root-anchored names, `*.ext`), which this reads the way gitignore does.
 */
describe(".funcignore", () => {
  const rules = readFileSync(join(repoRoot, ".funcignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));

  const ignored = (path: string): boolean =>
    rules.some((rule) => {
      if (rule.startsWith("*.")) return path.split("/").at(-1)!.endsWith(rule.slice(1));
      const name = rule.replace(/^\//, "").replace(/\/$/, "");
      return rule.endsWith("/") ? path.startsWith(`${name}/`) : path === name;
    });

  it("uses only rules this reading understands", () => {
    expect(rules.filter((rule) => !/^(\/[^*?[\]!]+\/?|\*\.[\w.]+)$/.test(rule))).toEqual([]);
  });

  it("keeps the runtime files and leaves out sources, tests and local files", async () => {
    const { stdout } = await run("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
      cwd: repoRoot,
      maxBuffer: 16 << 20,
    });
    const tracked = stdout.split("\n").filter(Boolean);
    const shipped = tracked.filter((path) => !ignored(path));
    // The Lua scripts ship inside dist/ (npm run build copies them), not from the source tree.
    expect(tracked.filter((path) => path.startsWith("shared/redis/lua/")).length).toBeGreaterThan(0);
    expect(shipped).toEqual(expect.arrayContaining(["host.json", "package.json"]));
    expect(shipped.filter((path) => path.startsWith("shared/"))).toEqual([]);
    const development =
      /\.ts$|^(test|scripts|bench|infra|patches|\.driftless|\.ci)\/|^local\.settings|^docker-compose|^README\.md$|^docs\/|^Makefile$/;
    expect(shipped.filter((path) => development.test(path))).toEqual([]);
    // Built and installed files, which git does not list.
    for (const path of [
      "dist/functions/sync-timer.js",
      "dist/shared/redis/lua-files.js",
      "dist/shared/redis/lua/claim-10.lua",
      "dist/shared/redis/lua/includes/codes.lua",
      "node_modules/ioredis/built/index.js",
      "node_modules/some-package/scripts/install.js",
      "node_modules/some-package/test/index.js",
    ]) {
      expect(ignored(path), path).toBe(false);
    }
  });
});
