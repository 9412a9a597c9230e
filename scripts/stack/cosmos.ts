import { readFile, mkdir } from "node:fs/promises";
import { request } from "node:https";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureLocalhostCertificate } from "./cosmos-cert.js";
import { freePort } from "./ports.js";
import { ServiceProcess } from "./service-process.js";

/** The well-known key of Microsoft's emulator; this emulator accepts any key. */
export const COSMOS_EMULATOR_KEY =
  "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

export interface CosmosEmulatorOptions {
  /** Holds the certificate and the emulator's log; the data itself lives in memory. */
  dir: string;
  /** @defaultValue a free port */
  port?: number;
  /** @defaultValue 30_000 */
  startTimeoutMs?: number;
  /**
   * Answer document requests with 429 (sub-status 3200) and this retry-after, as a throttled
   * Cosmos DB account does. By count: every n-th request, `burst` in a row from each n-th on
   * (COSMOSDB_SERVER_THROTTLE_EVERY and _BURST in the emulator's patch). By time, as the service
   * does when a second's request units are spent: every request in the first `forMs` of each
   * `periodMs` of the clock (COSMOSDB_SERVER_THROTTLE_PERIOD_MS and _FOR_MS), whoever sends it.
   * Per operation, as a partition short of request units answers a bulk request: the first
   * `bulkOpsServed` operations of each bulk request are served and the rest get 429 in the same
   * response (COSMOSDB_SERVER_THROTTLE_BULK_OPS).
   */
  throttle?:
    | { every: number; retryAfterMs?: number; burst?: number }
    | { periodMs: number; forMs: number; retryAfterMs?: number }
    | { bulkOpsServed: number; retryAfterMs?: number };
  /**
   * Partition key ranges (physical partitions) of every new container, covering the effective
   * partition key space evenly: COSMOSDB_SERVER_PARTITION_RANGES in the emulator's patch. More
   * than one makes clients read the change feed range by range, as Cosmos DB does; ranges can
   * then be split with `POST /_emulator/split` (`driftless stack split`).
   * @defaultValue 1 (the emulator's own default)
   */
  partitionRanges?: number;
  /**
   * For this long after a write, a point read without a session token that covers it gets the
   * previous version (or 404), as a lagging replica serves a read outside the writer's session:
   * COSMOSDB_SERVER_REPLICA_LAG_MS in the emulator's patch.
   * @defaultValue 0 (off)
   */
  replicaLagMs?: number;
}

export interface CosmosEmulatorHandle {
  /** https://localhost:<port> */
  readonly endpoint: string;
  readonly key: string;
  /** The emulator's self-signed certificate; clients pass it as their CA. */
  readonly caFile: string;
  readonly port: number;
  /** Graceful shutdown; all data is lost. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /**
   * SIGSTOP, then SIGCONT: the emulator stops answering and keeps its data (a restart would lose
   * it, since it lives in memory), as an unreachable or hung Cosmos DB would look to a client.
   */
  pause(): void;
  resume(): void;
}

/** Starts the Cosmos DB emulator in a child Node process and resolves once it answers over TLS. */
export async function startCosmosEmulator(options: CosmosEmulatorOptions): Promise<CosmosEmulatorHandle> {
  const { startTimeoutMs = 30_000 } = options;
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const { certFile, keyFile } = await ensureLocalhostCertificate(dir);
  const ca = await readFile(certFile);
  const port = options.port ?? (await freePort());

  const server = ServiceProcess.spawn({
    service: "cosmos",
    command: process.execPath,
    args: [...launcherArgs(), String(port), certFile, keyFile],
    cwd: dir,
    logFile: join(dir, "cosmos.log"),
    ipc: true,
    env: emulatorEnv(options),
  });
  await server.waitReady(async () => (await servingPid(port, ca)) === server.pid, startTimeoutMs);

  return {
    endpoint: `https://localhost:${port}`,
    key: COSMOS_EMULATOR_KEY,
    caFile: certFile,
    port,
    stop: () => server.stop(),
    kill: () => server.kill(),
    pause: () => void (server.pid && process.kill(server.pid, "SIGSTOP")),
    resume: () => void (server.pid && process.kill(server.pid, "SIGCONT")),
  };
}

/**
 * The launcher's environment: the emulator's settings from the options, none inherited, so that a
 * COSMOSDB_SERVER_* left in the caller's shell cannot change what a test or `make dev` gets.
 */
function emulatorEnv(options: CosmosEmulatorOptions): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("COSMOSDB_SERVER_")));
  const { throttle, partitionRanges, replicaLagMs } = options;
  if (throttle) {
    env.COSMOSDB_SERVER_THROTTLE_RETRY_AFTER_MS = String(throttle.retryAfterMs ?? 10);
    if ("every" in throttle) {
      env.COSMOSDB_SERVER_THROTTLE_EVERY = String(throttle.every);
      env.COSMOSDB_SERVER_THROTTLE_BURST = String(throttle.burst ?? 1);
    } else if ("bulkOpsServed" in throttle) {
      env.COSMOSDB_SERVER_THROTTLE_BULK_OPS = String(throttle.bulkOpsServed);
    } else {
      env.COSMOSDB_SERVER_THROTTLE_PERIOD_MS = String(throttle.periodMs);
      env.COSMOSDB_SERVER_THROTTLE_FOR_MS = String(throttle.forMs);
    }
  }
  if (partitionRanges !== undefined) env.COSMOSDB_SERVER_PARTITION_RANGES = String(partitionRanges);
  if (replicaLagMs !== undefined) env.COSMOSDB_SERVER_REPLICA_LAG_MS = String(replicaLagMs);
  return env;
}

/**
 * Node arguments that run the launcher next to this module: the compiled .js under dist/, or
 * the .ts source through tsx when this module itself runs from source (vitest, tsx).
 */
function launcherArgs(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) {
    const tsx = createRequire(import.meta.url).resolve("tsx");
    return ["--import", pathToFileURL(tsx).href, join(dirname(here), "cosmos-launcher.ts")];
  }
  return [join(dirname(here), "cosmos-launcher.js")];
}

/** The launcher's pid once it completes a TLS handshake with our certificate and answers HTTP. */
function servingPid(port: number, ca: Buffer): Promise<number | undefined> {
  return new Promise((resolveProbe) => {
    const probe = request(
      { host: "127.0.0.1", port, path: "/", method: "GET", ca, servername: "localhost", agent: false, timeout: 2_000 },
      (response) => {
        response.resume();
        resolveProbe(Number(response.headers["x-driftless-pid"]) || undefined);
      },
    );
    probe.once("timeout", () => probe.destroy());
    probe.once("error", () => resolveProbe(undefined));
    probe.end();
  });
}
