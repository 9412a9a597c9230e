import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_PREFIX, queueKeys } from "../shared/redis/keys.js";
import { QUEUE_SCRIPTS, scriptSources } from "../shared/redis/scripts.js";
import { freePort } from "../scripts/stack/ports.js";

const run = promisify(execFile);
const SOURCE_DIR = resolve("bench", "go-producer");

export interface GoProducer {
  /** The enqueue route of the source, as driftless's: http://127.0.0.1:<port>/api/sources/<source>/enqueue */
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export type GoProducerStart = { readonly producer: GoProducer } | { readonly skipped: string };

/**
 * Builds and starts the Go reference producer (bench/go-producer) for `source` on the same Redis
 * and keys as driftless's worker: the side-by-side figure for the producer's requests per core.
 * Without a Go toolchain, or when the build cannot fetch its module, the result says why and the
 * bench goes on without it.
 */
export async function startGoProducer(env: Record<string, string>, source: string): Promise<GoProducerStart> {
  const dir = await mkdtemp(join(tmpdir(), "driftless-go-producer-"));
  const binary = join(dir, "go-producer");
  try {
    await run("go", ["build", "-o", binary, "."], {
      cwd: SOURCE_DIR,
      env: { ...process.env, GOFLAGS: "-buildvcs=false" },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const detail = (error as { stderr?: string; message?: string }).stderr?.trim() || String(error);
    return { skipped: `the Go reference producer was not built (${detail.split("\n")[0]})` };
  }
  const script = join(dir, "enqueue.lua");
  const enqueue = scriptSources().get("enqueue");
  if (enqueue === undefined) throw new Error("driftless has no enqueue script to give the Go reference producer");
  await writeFile(script, enqueue);
  const keys = queueKeys(env.REDIS_KEY_PREFIX ?? DEFAULT_PREFIX, source);
  const port = await freePort();
  const redis = new URL(env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const child = spawn(binary, [], {
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      REDIS_ADDR: `${redis.hostname}:${redis.port || 6379}`,
      SCRIPT: script,
      KEYS: QUEUE_SCRIPTS.enqueue.map((name) => keys[name]).join(","),
      MAX_ITEMS: env.ENQUEUE_MAX_ITEMS ?? "1000",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [line] = (await Promise.race([
      once(child.stdout!, "data"),
      exited.then(([code]) => {
        throw new Error(`the Go reference producer exited (${code}) before it listened`);
      }),
    ])) as [Buffer];
    if (!line.toString().startsWith("listening")) throw new Error(`the Go reference producer said ${line.toString()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { producer: { endpoint: `http://127.0.0.1:${port}/api/sources/${source}/enqueue`, pid: child.pid!, stop } };
}
