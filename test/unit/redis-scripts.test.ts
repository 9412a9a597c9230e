import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../shared/core/errors.js";
import { UNPIPELINED_COMMANDS } from "../../shared/redis/client.js";
import { ScriptCode } from "../../shared/redis/codes.js";
import { captureKeys, DEFAULT_PREFIX, jobKeys, mirrorCursorKey, queueKeys } from "../../shared/redis/keys.js";
import { findLuaDir, readLua } from "../../shared/redis/lua-files.js";
import {
  CAPTURE_SCRIPTS,
  JOB_SCRIPTS,
  LEASE_SCRIPTS,
  QUEUE_SCRIPTS,
  SCRIPTS,
  commandName,
  scriptFile,
  scriptSources,
  WAKE_SCRIPTS,
  type QueueScriptName,
  type ScriptName,
} from "../../shared/redis/scripts.js";

const luaDir = findLuaDir();
const repoRoot = join(import.meta.dirname, "..", "..");
const all = Object.keys(SCRIPTS) as ScriptName[];
const names = Object.keys(QUEUE_SCRIPTS) as QueueScriptName[];
const others = all.filter((name) => !(name in QUEUE_SCRIPTS));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe("Redis Lua scripts", () => {
  it("has one file per script, named after its number of keys, and no stray files", () => {
    const files = readdirSync(luaDir).filter((f) => f.endsWith(".lua"));
    expect(files.sort()).toEqual(all.map(scriptFile).sort());
  });

  it("lists each script once, under one name prefix", () => {
    const families = [QUEUE_SCRIPTS, JOB_SCRIPTS, LEASE_SCRIPTS, CAPTURE_SCRIPTS, WAKE_SCRIPTS].flatMap((family) =>
      Object.keys(family),
    );
    expect(new Set(families).size).toBe(families.length);
    expect(families.sort()).toEqual([...all].sort());
  });

  it.each(all)(
    "%s: header documents its keys in the order the caller passes them, its arguments and its output",
    (name) => {
      const raw = readFileSync(join(luaDir, scriptFile(name)), "utf8");
      expect(raw.startsWith("--[[\n")).toBe(true);
      const header = raw.slice(0, raw.indexOf("]]"));
      const documented = [...header.matchAll(/KEYS\[(\d+)\]\s+(\w+)/g)].map((m) => [Number(m[1]), m[2]]);
      expect(documented).toEqual(SCRIPTS[name].map((key, i) => [i + 1, key]));
      expect(header).toMatch(/Input:/);
      expect(header).toMatch(/ARGV\[1\]/);
      expect(header).toMatch(/Output:/);
      expect(scriptSources().get(name)).toMatch(/^local rcall = redis\.call$/m);
    },
  );

  it.each(others)("%s: reaches only the keys it declares, through KEYS", (name) => {
    const lua = scriptSources().get(name)!;
    const keyArgs = [...lua.matchAll(/rcall\("\w+", ([^,)]+)/g)].map((m) => m[1]!);
    expect(keyArgs.length).toBeGreaterThan(0);
    for (const arg of keyArgs) {
      expect(arg).toMatch(/^KEYS\[\d+\]$/);
      expect(Number(/\d+/.exec(arg)![0])).toBeLessThanOrEqual(SCRIPTS[name].length);
    }
  });

  it.each(names)("%s: header and K table name the keys in the order the caller passes them", (name) => {
    const raw = readFileSync(join(luaDir, scriptFile(name)), "utf8");
    const header = raw.slice(0, raw.indexOf("]]"));
    const documented = [...header.matchAll(/KEYS\[(\d+)\]\s+(\w+)/g)].map((m) => [Number(m[1]), m[2]]);
    const mapped = [...raw.matchAll(/(\w+) = KEYS\[(\d+)\]/g)].map((m) => [Number(m[2]), m[1]]);
    const expected = SCRIPTS[name].map((key, i) => [i + 1, key]);
    expect(documented).toEqual(expected);
    expect(mapped.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(expected);
    expect(header).toMatch(/ARGV\[1\]/);
    expect(header).toMatch(/Output:/);
  });

  it.each(names)("%s: resolves its includes once, and reaches keys only through K", (name) => {
    const lua = scriptSources().get(name)!;
    expect(lua).toMatch(/^local rcall = redis\.call$/m);
    expect(lua).not.toMatch(/@include/);
    for (const fn of lua.matchAll(/^local function (\w+)/gm)) {
      expect(lua.split(`local function ${fn[1]}(`)).toHaveLength(2);
    }
    // Every command's first argument is a declared key: no key name is built inside a script,
    // which Redis Cluster could not route.
    const keyArgs = [...lua.matchAll(/rcall\("\w+", ([^,)]+)/g)].map((m) => m[1]);
    expect(keyArgs.length).toBeGreaterThan(0);
    for (const arg of keyArgs) expect(arg).toMatch(/^K(\.\w+|\[\w+\])$/);
    expect(lua).not.toMatch(/KEYS\[\d+\]\s*\.\./);
  });

  it("defines the same negative codes as ScriptCode", () => {
    const codes = readFileSync(join(luaDir, "includes", "codes.lua"), "utf8");
    expect(codes).toContain(`BAD_ARGUMENT = ${ScriptCode.BadArgument}`);
    expect(codes).toContain(`BAD_LANE = ${ScriptCode.BadLane}`);
    // One table: every code in both, each number with one meaning.
    const inLua = [...codes.matchAll(/^local ([A-Z_]+) = (-\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
    const inTs = Object.entries(ScriptCode)
      .filter(([, value]) => typeof value === "number")
      .map(([name, value]) => [name.replace(/(?<!^)([A-Z])/g, "_$1").toUpperCase(), value]);
    expect(inLua).toEqual(inTs);
    expect(new Set(inTs.map(([, value]) => value)).size).toBe(inTs.length);
  });

  it("returns no bare negative number: a negative result is a named code", () => {
    for (const name of all) {
      expect(readFileSync(join(luaDir, scriptFile(name)), "utf8"), name).not.toMatch(/return\s+\{?\s*-\d/);
    }
  });

  it("inlines a helper that several includes pull in only once", () => {
    const dir = mkdtempSync(join(tmpdir(), "driftless-lua-"));
    try {
      mkdirSync(join(dir, "includes"));
      writeFileSync(join(dir, "main-0.lua"), '--- @include "a"\n--- @include "b"\n\nreturn 1\n');
      writeFileSync(join(dir, "includes", "a.lua"), '--- @include "b"\nlocal A = 1\n');
      writeFileSync(join(dir, "includes", "b.lua"), "local B = 2\n");
      expect(readLua(dir, "main-0.lua")).toBe("local B = 2\n\nlocal A = 1\n\n\n\nreturn 1\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the Redis connection's unpipelined commands", () => {
  it("name the enqueue script's command as the scripts define it, so a rename cannot quietly pipeline it again", () => {
    expect(UNPIPELINED_COMMANDS).toEqual([commandName("enqueue")]);
  });
});

describe("findLuaDir", () => {
  it("finds the scripts beside the module when running from source", () => {
    expect(findLuaDir()).toMatch(/shared[/\\]redis[/\\]lua$/);
  });

  it("finds the scripts the build copies beside the compiled module", () => {
    const out = mkdtempSync(join(tmpdir(), "driftless-dist-"));
    try {
      mkdirSync(join(out, "shared", "redis", "lua"), { recursive: true });
      writeFileSync(join(out, "shared", "redis", "lua", "stale-0.lua"), "return 0\n");
      execFileSync(process.execPath, [join(repoRoot, "scripts", "copy-lua.mjs"), out]);
      const compiled = pathToFileURL(join(out, "shared", "redis", "lua-files.js")).href;
      expect(findLuaDir(compiled)).toBe(join(out, "shared", "redis", "lua"));
      expect(filesUnder(findLuaDir(compiled))).toEqual(filesUnder(luaDir));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("says where it looked when the scripts are missing", () => {
    const root = mkdtempSync(join(tmpdir(), "driftless-none-"));
    try {
      expect(() => findLuaDir(pathToFileURL(join(root, "x.js")).href)).toThrow(/not found in .*npm run build/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("queueKeys", () => {
  it("builds every key of a source under one hash tag", () => {
    expect(queueKeys(DEFAULT_PREFIX, "orders")).toEqual({
      live: "driftless:{orders}:live",
      bulk: "driftless:{orders}:bulk",
      inflight: "driftless:{orders}:inflight",
      lease: "driftless:{orders}:lease",
      lane: "driftless:{orders}:lane",
      attempts: "driftless:{orders}:attempts",
      dirty: "driftless:{orders}:dirty",
      errors: "driftless:{orders}:errors",
      dead: "driftless:{orders}:dead",
      deadinfo: "driftless:{orders}:deadinfo",
      deadseq: "driftless:{orders}:deadseq",
      meta: "driftless:{orders}:meta",
      versions: "driftless:{orders}:versions",
      claims: "driftless:{orders}:claims",
      claimexpiry: "driftless:{orders}:claimexpiry",
      timeouts: "driftless:{orders}:timeouts",
    });
  });

  it("builds the jobs', capture's and mirror's keys under the same hash tag", () => {
    const jobs = jobKeys(DEFAULT_PREFIX, "orders");
    expect([jobs.job("j1"), jobs.list, jobs.active("reimport"), jobs.lease("reconcile"), jobs.writeTarget]).toEqual([
      "driftless:{orders}:jobs:job:j1",
      "driftless:{orders}:jobs:list",
      "driftless:{orders}:jobs:active:reimport",
      "driftless:{orders}:jobs:lease:reconcile",
      "driftless:{orders}:jobs:write-target",
    ]);
    expect(captureKeys(DEFAULT_PREFIX, "orders")).toEqual({
      lease: "driftless:{orders}:capture:lease",
      continuation: "driftless:{orders}:capture:continuation",
      checkpoints: "driftless:{orders}:capture:checkpoints",
    });
    expect(mirrorCursorKey(DEFAULT_PREFIX, "orders")).toBe("driftless:{orders}:meta:mirroredSequence");
    for (const build of [jobKeys, captureKeys, mirrorCursorKey])
      expect(() => build("pre{fix", "orders")).toThrow(ValidationError);
  });

  it.each([
    ["driftless", "a{b"],
    ["driftless", "x}y"],
    ["driftless", ""],
    ["pre{fix", "orders"],
    ["two words", "orders"],
  ])("refuses names that would break the hash tag: prefix %j, source %j", (prefix, source) => {
    expect(() => queueKeys(prefix, source)).toThrow(ValidationError);
  });
});
