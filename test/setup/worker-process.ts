import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export interface WorkerProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGKILL, as a crash would, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM and the exit code. */
  stop(): Promise<number | null>;
}

/** `driftless worker` as a real child process, from source through tsx. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "worker"], {
    env: { ...process.env, WORKER_PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit") as Promise<[number | null]>;
  return {
    child,
    stderr: () => stderr,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return (await exited)[0];
    },
  };
}
