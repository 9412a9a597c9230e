import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./bicep-tree.js";

/*
 * The Node.js versions driftless says it runs on (package.json engines.node) against what it
 * needs: the oldest version of each major line it admits must satisfy every locked package's own
 * engines.node, and leave the CLI's arguments after `--` alone (20.19.0, 22.13.0). Optional
 * packages are left out: npm skips the platform bindings that do not fit, and
 * azure-functions-core-tools (`func`, for `npm start` only) wants Node 22 of its own.
 */

type Version = readonly [number, number, number];

const json = (path: string) => JSON.parse(readFileSync(join(repoRoot, path), "utf8")) as Record<string, unknown>;

function parseVersion(text: string): { version: Version; parts: number } {
  const parts = text
    .replace(/^v/, "")
    .split(".")
    .filter((p) => p !== "" && p !== "x" && p !== "*")
    .map(Number);
  return { version: [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0], parts: parts.length };
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** npm's range syntax as the locked packages use it: `||` of space-separated `^`, `~`, `>=`, `>`, `<=`, `<`, `=` comparators. */
function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((alternative) => {
    const comparators = alternative
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1")
      .split(/\s+/)
      .filter(Boolean);
    return comparators.every((comparator) => {
      const [, op = "", text = ""] = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(comparator)!;
      if (text === "*" || text === "") return true;
      const { version: bound, parts } = parseVersion(text);
      const c = compare(version, bound);
      switch (op) {
        case ">=":
          return c >= 0;
        case ">":
          return c > 0;
        case "<=":
          return c <= 0;
        case "<":
          return c < 0;
        case "^":
          return c >= 0 && (bound[0] > 0 ? version[0] === bound[0] : version[1] === bound[1]);
        case "~":
          return c >= 0 && version[0] === bound[0] && (parts < 2 || version[1] === bound[1]);
        default:
          return parts === 3 ? c === 0 : version[0] === bound[0] && (parts < 2 || version[1] === bound[1]);
      }
    });
  });
}

/** The oldest version of each major line a range of `^x.y.z` / `>=x.y.z` alternatives admits. */
function lowestAdmitted(range: string): Version[] {
  return range.split("||").map((alternative) => parseVersion(alternative.trim().replace(/^(\^|>=)\s*/, "")).version);
}

describe("package.json engines.node", () => {
  const engines = (json("package.json").engines as { node: string }).node;

  it("admits no Node.js older than the CLI and the dev tools need", () => {
    expect(lowestAdmitted(engines)).toEqual([
      [20, 19, 0],
      [22, 13, 0],
    ]);
    expect(satisfies([20, 18, 3], engines)).toBe(false);
    expect(satisfies([21, 7, 0], engines)).toBe(false);
    expect(satisfies([22, 12, 0], engines)).toBe(false);
    expect(satisfies([24, 0, 0], engines)).toBe(true);
  });

  it("admits only versions every locked package runs on", () => {
    const packages = json("package-lock.json").packages as Record<
      string,
      { engines?: { node?: string } | string[]; optional?: boolean }
    >;
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!path || !range || entry.optional) continue;
      for (const version of lowestAdmitted(engines)) {
        if (!satisfies(version, range))
          refusing.push(`${path.replace(/^.*node_modules\//, "")} wants ${range}, not ${version.join(".")}`);
      }
    }
    expect(refusing).toEqual([]);
  });
});

describe("npm start", () => {
  it("builds before func start serves dist/", () => {
    const scripts = json("package.json").scripts as Record<string, string>;
    expect(scripts.start).toBe("func start");
    expect(scripts.prestart).toBe("npm run build");
  });
});

describe("local.settings.example.json", () => {
  it("carries no preview-era feature flag (the v4 Node.js model indexes its functions without one)", () => {
    const { Values } = json("local.settings.example.json") as { Values: Record<string, string> };
    expect(Values).not.toHaveProperty("AzureWebJobsFeatureFlags");
  });
});
