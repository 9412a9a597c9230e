import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../scripts/stack/ports.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { repoRoot } from "./bicep-tree.js";
import { copyArgs, envPairs, execForm, instructions, readDockerfile, type Stage } from "./dockerfile.js";

/*
 * The worker image. No Docker engine runs here, so `docker build` does not either: these tests read
 * the Dockerfile's instructions, then replay its runtime stage on this machine — the build stage's
 * own tsc command, the runtime stage's COPY lines and its production `npm ci`, laid out as in the
 * image — and run the image's ENTRYPOINT and CMD there against the real local stack, probing it
 * with the image's own HEALTHCHECK command. What stays untested: the base image itself, and the
 * `node` user's permissions inside it.
 */

const run = promisify(execFile);
const stages = readDockerfile();
const final = stages.at(-1)!;
const stageNamed = (name: string) => stages.find((stage) => stage.name === name);
const only = (stage: Stage, keyword: string) => {
  const found = instructions(stage, keyword);
  expect(found, `${keyword} in stage ${stage.name}`).toHaveLength(1);
  return found[0]!.args;
};
const workdir = (stage: Stage) => only(stage, "WORKDIR");
const finalEnv = () =>
  Object.assign({}, ...instructions(final, "ENV").map((i) => envPairs(i.args))) as Record<string, string>;
const healthcheckCommand = () => execForm(only(final, "HEALTHCHECK").replace(/^(?:--\S+\s+)*CMD\s+/, ""));

describe("Dockerfile: structure", () => {
  it("is multi-stage: a build stage compiles with npm ci and tsc, the runtime stage copies only its output", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stageNamed("build")!;
    expect(build, "a stage named build").toBeDefined();
    const buildRuns = instructions(build, "RUN").map((i) => i.args);
    expect(buildRuns.some((cmd) => /^npm ci\b/.test(cmd))).toBe(true);
    expect(buildRuns.some((cmd) => /\btsc -p tsconfig\.json\b/.test(cmd))).toBe(true);
    // The runtime stage: production dependencies only, and nothing built there.
    const runtimeRuns = instructions(final, "RUN").map((i) => i.args);
    expect(runtimeRuns.some((cmd) => /^npm ci\b.*--omit=dev/.test(cmd))).toBe(true);
    expect(runtimeRuns.some((cmd) => /\btsc\b/.test(cmd))).toBe(false);
    const fromBuild = instructions(final, "COPY")
      .map((i) => copyArgs(i.args))
      .filter((copy) => copy.from === "build");
    expect(fromBuild.map((copy) => copy.sources)).toEqual([[`${workdir(build)}/dist`]]);
  });

  it("puts the Redis scripts beside the compiled loader in the build stage, so dist/ carries them", () => {
    // shared/redis/lua is the one folder of scripts; copy-lua.mjs copies it into <outDir>/shared/redis/lua.
    const luaDirs = readdirSync(join(repoRoot, "shared"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name === "lua")
      .map((entry) => posix.join(posix.relative(repoRoot, entry.parentPath.split("\\").join("/")), "lua"));
    expect(luaDirs).toEqual(["shared/redis/lua"]);
    const buildRuns = instructions(stageNamed("build")!, "RUN").map((i) => i.args);
    expect(buildRuns).toContain("node scripts/copy-lua.mjs dist");
  });

  it("pins both base images to one Node.js 22 release that package.json engines admits", () => {
    const engines = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { engines: { node: string } })
      .engines.node;
    expect(engines).toContain(">=22.13.0");
    for (const stage of stages) {
      const [, major, minor, patch] = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(?:-slim)?$/.exec(stage.image) ?? [];
      expect(major, `${stage.image} names a full release`).toBe("22");
      expect(Number(minor) * 1000 + Number(patch)).toBeGreaterThanOrEqual(12_000);
    }
    expect(new Set(stages.map((stage) => stage.image)).size).toBe(1);
  });

  it("runs as a non-root user in the final stage, after everything that needs root", () => {
    const user = only(final, "USER");
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const at = final.instructions.findIndex((i) => i.keyword === "USER");
    expect(final.instructions.slice(at + 1).some((i) => i.keyword === "RUN" || i.keyword === "COPY")).toBe(false);
  });

  it("runs `driftless worker` through exec-form ENTRYPOINT and CMD (no shell in front of SIGTERM)", () => {
    const entrypoint = execForm(only(final, "ENTRYPOINT"));
    const cmd = execForm(only(final, "CMD"));
    expect(entrypoint).toEqual(["node", "dist/cli/main.js"]);
    expect(cmd).toEqual(["worker"]);
  });

  it("probes liveness, never readiness: a dependency outage must not get the worker restarted", () => {
    const command = healthcheckCommand().join(" ");
    expect(command).toContain("/api/live");
    expect(command).not.toContain("/api/ready");
    expect(command).not.toContain("/api/health");
  });

  it(".dockerignore keeps local dependencies, build output, secrets and state out of the context", () => {
    const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    expect(ignored).toEqual(
      expect.arrayContaining(["node_modules", "dist", ".driftless", ".git", "local.settings.json", ".env"]),
    );
    // …and nothing the Dockerfile copies from the context.
    const copied = stages.flatMap((stage) =>
      instructions(stage, "COPY")
        .map((i) => copyArgs(i.args))
        .filter((copy) => !copy.from)
        .flatMap((copy) => copy.sources),
    );
    for (const path of copied) {
      expect(existsSync(join(repoRoot, path)), path).toBe(true);
      expect(
        ignored.some((pattern) => path === pattern || path.startsWith(`${pattern}/`)),
        path,
      ).toBe(false);
    }
  });
});

describe("Dockerfile: the runtime stage, replayed here, serves the API", () => {
  let image: string; // this machine's stand-in for the image's WORKDIR
  let buildOut: string; // … and for the build stage's
  let source: TestSource;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "driftless-image-"));
    image = join(root, "app");
    buildOut = join(root, "build");
    mkdirSync(image);
    mkdirSync(buildOut);
    // The build stage's tsc command, as written, with its output where the build stage has it.
    const build = stageNamed("build")!;
    const tsc = instructions(build, "RUN")
      .map((i) => i.args)
      .find((cmd) => /\btsc\b/.test(cmd))!;
    const [npx, ...tscArgs] = tsc.split(/\s+/);
    expect(npx).toBe("npx");
    await run("npx", [...tscArgs, "--outDir", join(buildOut, "dist")], {
      cwd: repoRoot,
      timeout: 300_000,
      maxBuffer: 16 << 20,
    });
    // Its copy of the Redis scripts, as written, into the same output.
    const copy = instructions(build, "RUN")
      .map((i) => i.args)
      .find((cmd) => /copy-lua\.mjs/.test(cmd))!;
    const [node, script] = copy.split(/\s+/);
    await run(node!, [script!, join(buildOut, "dist")], { cwd: repoRoot, timeout: 60_000 });
    // The runtime stage's COPY lines: from the context (the repository) or from the build stage.
    for (const instruction of instructions(final, "COPY")) {
      const { from, sources, dest } = copyArgs(instruction.args);
      for (const path of sources) {
        const origin = from === "build" ? join(buildOut, posix.relative(workdir(build), path)) : join(repoRoot, path);
        const target = dest.endsWith("/") ? join(image, dest, posix.basename(path)) : join(image, dest);
        cpSync(origin, target, { recursive: true });
      }
    }
    // Its npm ci, as written (the cache clean after it is the image's business, not this machine's).
    const install = instructions(final, "RUN")
      .map((i) => i.args)
      .find((cmd) => /^npm ci\b/.test(cmd))!
      .split("&&")[0]!
      .trim();
    await run("sh", ["-c", `${install} --prefer-offline --loglevel=error`], {
      cwd: image,
      timeout: 300_000,
      maxBuffer: 16 << 20,
    });
    source = await createTestSource();
  }, 600_000);

  afterAll(async () => {
    await source?.dispose();
    if (image) rmSync(join(image, ".."), { recursive: true, force: true });
  });

  it("the entry point's file is in the build output, and only production dependencies are installed", () => {
    const entry = execForm(only(final, "ENTRYPOINT"))[1]!;
    expect(statSync(join(buildOut, entry)).isFile()).toBe(true);
    expect(statSync(join(image, entry)).isFile()).toBe(true);
    for (const dev of ["vitest", "typescript", "tsx", "dclint"])
      expect(existsSync(join(image, "node_modules", dev)), dev).toBe(false);
    expect(existsSync(join(image, "node_modules/@azure/cosmos"))).toBe(true);
  });

  it("ENTRYPOINT + CMD start the worker: /api/live and /api/ready answer 200, and the HEALTHCHECK command passes, then fails once it is gone", async () => {
    const [port] = await freePorts(1);
    const [executable, ...args] = [...execForm(only(final, "ENTRYPOINT")), ...execForm(only(final, "CMD"))];
    expect(executable).toBe("node");
    const env = {
      ...process.env,
      ...finalEnv(),
      ...source.env,
      WORKER_PORT: String(port),
      DRIFTLESS_API_KEY: "image-test-key-0123456789",
      LOG_LEVEL: "warn",
    };
    expect(finalEnv().WORKER_HOST).toBe("0.0.0.0");
    const child = spawn(process.execPath, args, { cwd: image, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, "exit");
    const healthcheck = async () => {
      const [node, ...rest] = healthcheckCommand();
      expect(node).toBe("node");
      return run(process.execPath, rest, { env: { ...process.env, WORKER_PORT: String(port) }, timeout: 10_000 }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1,
      );
    };
    try {
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/api/live`)).status).toBe(200), {
        timeoutMs: 60_000,
        intervalMs: 250,
      }).catch((error: unknown) => {
        throw new Error(`the image's command did not serve /api/live: ${stderr}`, { cause: error });
      });
      const ready = await fetch(`http://127.0.0.1:${port}/api/ready`);
      expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: "ready" } });
      expect(await healthcheck()).toBe(0);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
    expect(child.exitCode, stderr).toBe(0);
    expect(await healthcheck()).toBe(1);
  }, 120_000);
});
