import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * driftless's version from its package.json, found by walking up from this file: it lies one
 * folder up from cli/ when run from source, two from dist/cli/ when built.
 */
export function packageVersion(from: string = import.meta.url): string {
  for (let dir = dirname(fileURLToPath(from)); ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === "driftless" && manifest.version) return manifest.version;
    } catch {
      // no package.json here; look further up
    }
    if (dirname(dir) === dir) return "unknown";
  }
}
