import { mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { StackError } from "./errors.js";
import { findExecutable } from "./executables.js";
import { freePort } from "./ports.js";
import { ServiceProcess } from "./service-process.js";

export interface RedisOptions {
  /** Working directory: the log and, with appendOnly, the AOF files live here. */
  dir: string;
  /** @defaultValue a free port */
  port?: number;
  /**
   * Persist every write (AOF, fsync always), so a kill() followed by restart() keeps the data,
   * as a crash test needs. Without it nothing is persisted.
   * @defaultValue false
   */
  appendOnly?: boolean;
  /** @defaultValue 15_000 */
  startTimeoutMs?: number;
  /** Start as a replica of the Redis on 127.0.0.1 at this port (a test of replication, WAIT). */
  replicaOf?: number;
}

export interface RedisHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Graceful shutdown (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port and directory. */
  restart(): Promise<void>;
}

/** Starts redis-server bound to 127.0.0.1 and resolves once it answers (INFO: our pid, data loaded). */
export async function startRedis(options: RedisOptions): Promise<RedisHandle> {
  const { appendOnly = false, startTimeoutMs = 15_000 } = options;
  const dir = resolve(options.dir);
  const port = options.port ?? (await freePort());
  const binary = findExecutable(process.env.REDIS_SERVER ?? "redis-server");
  if (binary === null) {
    throw new StackError("redis", "redis-server not found on PATH: apt-get install -y redis-server (or set REDIS_URL)");
  }
  await mkdir(dir, { recursive: true });
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--save",
    "",
    // fsync always: a test that kills the server right after a write must find the write again.
    ...(appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    ...(options.replicaOf === undefined ? [] : ["--replicaof", "127.0.0.1", String(options.replicaOf)]),
  ];

  let server: ServiceProcess | undefined;
  const start = async (): Promise<void> => {
    const started = ServiceProcess.spawn({
      service: "redis",
      command: binary,
      args,
      cwd: dir,
      logFile: join(dir, "redis.log"),
    });
    server = started;
    await started.waitReady(() => isReady(port, started.pid), startTimeoutMs);
  };
  await start();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop: async () => server?.stop(),
    kill: async () => server?.kill(),
    restart: async () => {
      await server?.stop();
      await start();
    },
  };
}

/**
 * True when the server on `port` is the process we started (a port taken between freePort() and
 * the bind would otherwise pass for ours) and has finished loading its data. One inline INFO over
 * a raw socket: no client library, no reconnect loop to tear down.
 */
function isReady(port: number, pid: number | undefined, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolveProbe(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("INFO\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (header === null) {
        if (reply.includes("\r\n")) done(false); // an error reply
        return;
      }
      if (reply.length < header[0].length + Number(header[1])) return;
      done(reply.includes(`\r\nprocess_id:${String(pid)}\r\n`) && reply.includes("\r\nloading:0\r\n"));
    });
  });
}
