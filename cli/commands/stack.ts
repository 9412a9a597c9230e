import { spawn } from "node:child_process";
import { openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { Command } from "commander";
import { ConfigError, DriftlessError } from "../../shared/core/errors.js";
import { sleep } from "../../shared/core/clock.js";
import type { PartitionKeyRange } from "../../scripts/stack/cosmos-split.js";

/**
 * `driftless stack up|down`: the local Redis, Elasticsearch and Cosmos DB emulator in the
 * background, for tools and scripts that want the stack without a worker (`make dev` runs both).
 * `up` starts a detached `stack run` process and waits for it to write the endpoints.
 * `stack split` splits a partition key range in the emulator, to watch capture live through it.
 */
export function stackCommand(): Command {
  const stack = new Command("stack").description(
    "the local stack without Docker: Redis, Elasticsearch, Cosmos DB emulator",
  );
  stack
    .command("up")
    .description("start the stack in the background and print its endpoints (written to <dir>/local.env)")
    .option("--dir <path>", "state directory", ".driftless")
    .option("--timeout <ms>", "how long to wait for the stack", (v) => Number(v), 300_000)
    .action(async (options: { dir: string; timeout: number }) => {
      await devStack(() => import("../../scripts/stack/stack.js")); // says so now, not from the detached `stack run`
      const dir = resolve(options.dir);
      await mkdir(dir, { recursive: true });
      const pidFile = join(dir, "stack.pid");
      if (running(pidFile))
        throw new Error(
          `the stack already runs (pid ${readFileSync(pidFile, "utf8").trim()}); driftless stack down stops it`,
        );
      const envFile = join(dir, "local.env");
      rmSync(envFile, { force: true });
      const log = openSync(join(dir, "stack.log"), "a");
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, "stack", "run", "--dir", dir], {
        detached: true,
        stdio: ["ignore", log, log],
      });
      writeFileSync(pidFile, `${child.pid}\n`);
      child.unref();
      const deadline = Date.now() + options.timeout;
      while (!exists(envFile)) {
        if (child.exitCode !== null || !running(pidFile))
          throw new Error(`the stack failed to start; see ${join(dir, "stack.log")}`);
        if (Date.now() > deadline)
          throw new Error(`the stack did not come up within ${options.timeout} ms; see ${join(dir, "stack.log")}`);
        await sleep(250);
      }
      process.stdout.write(readFileSync(envFile, "utf8").replace(/^COSMOS_KEY=.*$/m, "COSMOS_KEY=(in local.env)"));
    });
  stack
    .command("down")
    .description("stop the stack that `stack up` started")
    .option("--dir <path>", "state directory", ".driftless")
    .action(async (options: { dir: string }) => {
      const pidFile = join(resolve(options.dir), "stack.pid");
      if (!running(pidFile)) {
        rmSync(pidFile, { force: true });
        process.stdout.write("the stack is not running\n");
        return;
      }
      const pid = Number(readFileSync(pidFile, "utf8"));
      process.kill(pid, "SIGTERM");
      for (let waited = 0; alive(pid); waited += 200) {
        if (waited > 60_000) throw new Error(`pid ${pid} did not stop within 60 s`);
        await sleep(200);
      }
      rmSync(pidFile, { force: true });
      process.stdout.write("stopped\n");
    });
  stack
    .command("split")
    .description(
      "split a partition key range of a container in the local Cosmos DB emulator, as Cosmos DB does when a partition grows",
    )
    .argument("<database>")
    .argument("<container>")
    .argument("[rangeId]", "the range to split (default: the one holding the most documents)")
    .option(
      "--dir <path>",
      "state directory, whose local.env names the emulator unless COSMOS_ENDPOINT is set",
      ".driftless",
    )
    .action(async (database: string, container: string, rangeId: string | undefined, options: { dir: string }) => {
      const { splitPartitionKeyRange } = await devStack(() => import("../../scripts/stack/cosmos-split.js"));
      const emulator = emulatorFromEnv(join(resolve(options.dir), "local.env"));
      const { parent, children } = await splitPartitionKeyRange(emulator, {
        database,
        container,
        ...(rangeId === undefined ? {} : { rangeId }),
      });
      const describe = (range: PartitionKeyRange) =>
        `${range.id} [${JSON.stringify(range.minInclusive)}, ${JSON.stringify(range.maxExclusive)})`;
      process.stdout.write(`split range ${describe(parent)} into ${children.map(describe).join(" and ")}\n`);
    });
  stack
    .command("run", { hidden: true })
    .option("--dir <path>", "state directory", ".driftless")
    .action(async (options: { dir: string }) => {
      const { stackEnv, startStack, writeLocalEnv } = await devStack(() => import("../../scripts/stack/stack.js"));
      const dir = resolve(options.dir);
      const started = await startStack({ dir: join(dir, "stack") });
      await writeLocalEnv(join(dir, "local.env"), stackEnv(started));
      // Signal listeners do not keep Node alive, and the services' handles are unreferenced.
      const keepAlive = setInterval(() => undefined, 60_000);
      await new Promise<void>((resolveStop) => {
        for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolveStop());
      });
      clearInterval(keepAlive);
      await started.stop();
      rmSync(join(dir, "local.env"), { force: true });
    });
  return stack;
}

/**
 * Loads a module of scripts/stack, the local development stack. infra/package.sh leaves scripts/
 * out of the deploy package, so the CLI imports it only when a stack command runs: a static
 * import made the packaged CLI fail to load at all. Without it, one line says why.
 */
async function devStack<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing =
      (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
      /[\\/]scripts[\\/]stack[\\/]/.test(String((error as Error).message));
    if (!missing) throw error;
    throw new DriftlessError(
      "dev_only",
      "driftless stack runs the local development stack, which is not in this package: run it from a clone of the repository",
    );
  }
}

/** The emulator's endpoint and CA: COSMOS_ENDPOINT and COSMOS_CA_FILE, else those in `envFile` (what `stack up` and `make dev` write). */
function emulatorFromEnv(envFile: string): { endpoint: string; caFile: string | null } {
  let env: NodeJS.ProcessEnv = process.env;
  if (!env.COSMOS_ENDPOINT) {
    if (!exists(envFile))
      throw new ConfigError(
        "COSMOS_ENDPOINT",
        `is not set and ${envFile} does not exist: start the stack (driftless stack up, make dev) or set it`,
      );
    env = parseEnv(readFileSync(envFile, "utf8"));
  }
  if (!env.COSMOS_ENDPOINT)
    throw new ConfigError("COSMOS_ENDPOINT", `is set neither in the environment nor in ${envFile}`);
  return { endpoint: env.COSMOS_ENDPOINT, caFile: env.COSMOS_CA_FILE || null };
}

function exists(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

function running(pidFile: string): boolean {
  try {
    return alive(Number(readFileSync(pidFile, "utf8")));
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
