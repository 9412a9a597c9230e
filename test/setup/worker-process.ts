import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { killOnExit } from "../../scripts/stack/exit-guard.js";
import { fieldOf, messageOf, type LogLine } from "./logs.js";

export interface WorkerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The worker's pino JSON log lines so far (stdout). */
  logs(): LogLine[];
  stderr(): string;
  /** Base URL of its HTTP API, from its "worker listening" log line. */
  url(): Promise<string>;
  alive(): boolean;
  /** SIGKILL, as a crash would; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `driftless worker` as a real child process (from source through tsx), its JSON logs captured,
 * killed if the test process exits first. Capture is off unless `env` turns it on
 * (`CAPTURE_ENABLED: "true"`): most tests produce changes through the queue, as the HTTP producer
 * does, so they do not depend on the change feed.
 */
export function spawnWorker(name: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "worker"], {
    // Info level whatever the source's environment says: the tests read the circuit and pause lines.
    env: { ...process.env, WORKER_PORT: "0", CAPTURE_ENABLED: "false", ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const unregister = killOnExit(() => child.kill("SIGKILL"));
  const exited = once(child, "exit").then(([code]) => {
    unregister();
    return code as number | null;
  });
  const lines: LogLine[] = [];
  let partial = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ message: part });
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const alive = () => child.exitCode === null && child.signalCode === null;

  return {
    name,
    child,
    logs: () => lines,
    stderr: () => stderr,
    alive,
    async url() {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const line = lines.find((entry) => messageOf(entry) === "worker listening");
        if (line) return String(fieldOf(line, "url"));
        if (!alive()) throw new Error(`worker ${name} exited before listening: ${stderr.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`worker ${name} did not listen within 60 s: ${stderr.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async kill() {
      if (alive()) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (alive()) child.kill("SIGTERM");
      return exited;
    },
  };
}
