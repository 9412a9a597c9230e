import { spawn } from "node:child_process";
import { openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { sleep } from "../../shared/core/clock.js";
import { stackEnv, startStack, writeLocalEnv } from "../../scripts/stack/stack.js";

/**
 * `driftless stack up|down`: the local Redis, Elasticsearch and Cosmos DB emulator in the
 * background, for tools and scripts that want the stack without a worker (`make dev` runs both).
 * `up` starts a detached `stack run` process and waits for it to write the endpoints.
 */
export function stackCommand(): Command {
  const stack = new Command("stack").description("the local stack without Docker: Redis, Elasticsearch, Cosmos DB emulator");
  stack
    .command("up")
    .description("start the stack in the background and print its endpoints (written to <dir>/local.env)")
    .option("--dir <path>", "state directory", ".driftless")
    .option("--timeout <ms>", "how long to wait for the stack", (v) => Number(v), 300_000)
    .action(async (options: { dir: string; timeout: number }) => {
      const dir = resolve(options.dir);
      await mkdir(dir, { recursive: true });
      const pidFile = join(dir, "stack.pid");
      if (running(pidFile)) throw new Error(`the stack already runs (pid ${readFileSync(pidFile, "utf8").trim()}); driftless stack down stops it`);
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
        if (child.exitCode !== null || !running(pidFile)) throw new Error(`the stack failed to start; see ${join(dir, "stack.log")}`);
        if (Date.now() > deadline) throw new Error(`the stack did not come up within ${options.timeout} ms; see ${join(dir, "stack.log")}`);
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
    .command("run", { hidden: true })
    .option("--dir <path>", "state directory", ".driftless")
    .action(async (options: { dir: string }) => {
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
