import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "./bicep-tree.js";

/*
 * scripts/install-deps.sh on a machine that lacks redis-server. The machine is simulated by PATH:
 * a directory of links to every command on the real PATH except the ones taken away, behind a
 * directory of stand-ins (an apt-get that records its calls and "installs" redis-server, and a
 * sudo that just runs its command, for runs as a user other than root).
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface FakeMachine {
  readonly path: string;
  readonly stand: string;
  readonly calls: string;
}

function machineWithout(removed: readonly string[], aptGet: string | null): FakeMachine {
  const root = mkdtempSync(join(tmpdir(), "driftless-deps-"));
  dirs.push(root);
  const stand = join(root, "stand-ins");
  const system = join(root, "system");
  mkdirSync(stand);
  mkdirSync(system);
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter((d) => d && existsSync(d))) {
    for (const name of readdirSync(dir)) {
      if (removed.includes(name) || existsSync(join(system, name))) continue;
      symlinkSync(join(dir, name), join(system, name));
    }
  }
  const calls = join(root, "apt-calls");
  if (aptGet !== null)
    writeFileSync(join(stand, "apt-get"), aptGet.replaceAll("$CALLS", calls).replaceAll("$STAND", stand), {
      mode: 0o755,
    });
  writeFileSync(join(stand, "sudo"), '#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n', { mode: 0o755 });
  return { path: [stand, system].join(delimiter), stand, calls };
}

function installDeps(profile: string, machine: FakeMachine) {
  const result = spawnSync(join(repoRoot, "scripts/install-deps.sh"), [profile], {
    encoding: "utf8",
    env: { PATH: machine.path, HOME: process.env.HOME },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Records every call; `install` puts a command named after each package among the stand-ins, as
 * the redis-server package puts redis-server in /usr/bin.
 */
const recordingAptGet = `#!/bin/sh
echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> "$CALLS"
[ "$1" = install ] || exit 0
for arg in "$@"; do
  case "$arg" in install|-*) continue ;; esac
  printf '#!/bin/sh\\nexit 0\\n' > "$STAND/$arg"
  chmod +x "$STAND/$arg"
done
`;

describe("scripts/install-deps.sh", () => {
  it("asks apt-get for redis-server when it is missing, non-interactively, and succeeds once it is there", () => {
    const machine = machineWithout(["redis-server", "apt-get"], recordingAptGet);
    const run = installDeps("dev", machine);
    expect(run.code, run.stderr).toBe(0);
    const calls = readFileSync(machine.calls, "utf8").trim().split("\n");
    expect(calls[0]).toMatch(/^DEBIAN_FRONTEND=noninteractive update\b/);
    expect(calls[1]).toMatch(/^DEBIAN_FRONTEND=noninteractive install -y .*\bredis-server$/);
    expect(run.stdout).toContain("installing: redis-server");
    expect(existsSync(join(machine.stand, "redis-server"))).toBe(true);
    // Now nothing is missing: apt-get is not called again.
    expect(installDeps("dev", machine).code).toBe(0);
    expect(readFileSync(machine.calls, "utf8").trim().split("\n")).toHaveLength(2);
  });

  it("without apt-get, prints one line naming the package and exits non-zero", () => {
    const machine = machineWithout(["redis-server", "apt-get"], null);
    const run = installDeps("dev", machine);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^driftless: missing redis-server: install the packages redis-server\b/);
  });

  it("when apt-get fails, prints one line with apt's reason and what to install, and exits non-zero", () => {
    const failing = `#!/bin/sh\necho "$*" >> "$CALLS"\n[ "$1" = install ] && { echo "E: Unable to locate package redis-server" >&2; exit 100; }\nexit 0\n`;
    const machine = machineWithout(["redis-server", "apt-get"], failing);
    const run = installDeps("dev", machine);
    expect(run.code).not.toBe(0);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("E: Unable to locate package redis-server");
    expect(lines[0]).toContain("apt-get install -y redis-server");
  });

  it("leaves out what a target does not need: make dev no Chromium, and no redis-server with REDIS_URL given", () => {
    const machine = machineWithout(["redis-server", "chromium", "apt-get"], recordingAptGet);
    const dev = spawnSync(join(repoRoot, "scripts/install-deps.sh"), ["dev"], {
      encoding: "utf8",
      env: { PATH: machine.path, HOME: process.env.HOME, REDIS_URL: "redis://127.0.0.1:6379" },
    });
    expect(dev.status, dev.stderr).toBe(0);
    expect(existsSync(machine.calls)).toBe(false);
    const test = spawnSync(join(repoRoot, "scripts/install-deps.sh"), ["test"], {
      encoding: "utf8",
      env: { PATH: machine.path, HOME: process.env.HOME },
    });
    expect(test.status, test.stderr).toBe(0);
    expect(readFileSync(machine.calls, "utf8")).toMatch(/ install -y .*\bredis-server chromium$/m);
  });
});
