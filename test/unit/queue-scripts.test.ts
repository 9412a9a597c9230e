import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../shared/core/errors.js";
import { ScriptCode } from "../../shared/queue/errors.js";
import { DEFAULT_PREFIX, queueKeys } from "../../shared/queue/keys.js";
import { findLuaDir, readLua } from "../../shared/queue/lua-files.js";
import { SCRIPTS, scriptFile, scriptSources, type ScriptName } from "../../shared/queue/scripts.js";

const luaDir = findLuaDir();
const names = Object.keys(SCRIPTS) as ScriptName[];

describe("queue Lua scripts", () => {
  it("has one file per script, named after its number of keys, and no stray files", () => {
    const files = readdirSync(luaDir).filter((f) => f.endsWith(".lua"));
    expect(files.sort()).toEqual(names.map(scriptFile).sort());
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

describe("findLuaDir", () => {
  it("finds the scripts beside the module when running from source", () => {
    expect(findLuaDir()).toMatch(/shared[/\\]queue[/\\]lua$/);
  });

  it("finds shared/queue/lua in the source tree from compiled code under dist/", () => {
    const root = mkdtempSync(join(tmpdir(), "driftless-root-"));
    try {
      mkdirSync(join(root, "shared", "queue", "lua"), { recursive: true });
      mkdirSync(join(root, "dist", "shared", "queue"), { recursive: true });
      const compiled = pathToFileURL(join(root, "dist", "shared", "queue", "lua-files.js")).href;
      expect(findLuaDir(compiled)).toBe(join(root, "shared", "queue", "lua"));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("says where it looked when the scripts are missing", () => {
    const root = mkdtempSync(join(tmpdir(), "driftless-none-"));
    try {
      expect(() => findLuaDir(pathToFileURL(join(root, "x.js")).href)).toThrow(/not found beside or above/);
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

  it.each([["driftless", "a{b"], ["driftless", "x}y"], ["driftless", ""], ["pre{fix", "orders"], ["two words", "orders"]])(
    "refuses names that would break the hash tag: prefix %j, source %j",
    (prefix, source) => {
      expect(() => queueKeys(prefix, source)).toThrow(ValidationError);
    },
  );
});
