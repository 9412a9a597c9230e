import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { StackError, type StackService } from "./errors.js";
import { findExecutable } from "./executables.js";
import { killOnExit } from "./exit-guard.js";
import { tailFile } from "./log-tail.js";
import type { Account } from "./unprivileged.js";

export interface ServiceProcessOptions {
  service: StackService;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here; its tail goes into every start error. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Drop to this account before exec (needs setpriv). */
  runAs?: Account;
  /** Open an IPC channel, so a Node child can notice its parent is gone. */
  ipc?: boolean;
}

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/**
 * One server process of the local stack. It runs in its own process group so that a signal
 * reaches the server and everything it forked (Elasticsearch's launcher starts a second JVM), and
 * so that Ctrl-C in a terminal reaches only the parent. Three guards keep it from outliving the
 * parent: the exit hook, the kernel's parent-death signal (setpriv --pdeathsig, which also covers
 * SIGKILL of the parent), and for Node children the IPC channel.
 */
export class ServiceProcess {
  readonly exited: Promise<ServiceExit>;
  readonly #options: ServiceProcessOptions;
  readonly #child: ChildProcess;
  #exit: ServiceExit | undefined;

  private constructor(options: ServiceProcessOptions, child: ChildProcess) {
    this.#options = options;
    this.#child = child;
    const unregister = killOnExit(() => this.#signalGroup("SIGKILL"));
    this.exited = new Promise((resolve) => {
      const settle = (exit: ServiceExit): void => {
        if (this.#exit !== undefined) return;
        this.#exit = exit;
        unregister();
        resolve(exit);
      };
      child.once("exit", (code, signal) => settle({ code, signal }));
      child.once("error", (error) => settle({ code: null, signal: null, error }));
    });
  }

  static spawn(options: ServiceProcessOptions): ServiceProcess {
    const { command, args } = withGuards(options);
    const log = openSync(options.logFile, "a");
    try {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        detached: true,
        stdio: options.ipc ? ["ignore", log, log, "ipc"] : ["ignore", log, log],
      });
      // A handle nobody stopped must not keep the parent alive; the exit hook kills the child.
      child.unref();
      child.channel?.unref();
      return new ServiceProcess(options, child);
    } finally {
      closeSync(log);
    }
  }

  /** The server's pid (setpriv execs it, so it is the spawned process itself). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get logFile(): string {
    return this.#options.logFile;
  }

  /** Polls `probe` until it returns true; fails with the log tail if the process exits or time runs out. */
  async waitReady(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const { service } = this.#options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exit !== undefined) {
        const message = `${service} exited (${describeExit(this.#exit)}) before it was ready${await this.#logTail()}`;
        throw new StackError(service, message, { cause: this.#exit.error });
      }
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new StackError(service, `${service} was not ready after ${timeoutMs} ms${await this.#logTail()}`);
      }
      await Promise.race([sleep(200), this.exited]);
    }
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the whole process group is gone. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.running) {
      this.#child.ref(); // someone is waiting for the exit now: keep the event loop alive for it
      this.#signalGroup("SIGTERM");
      // Cancelled once the process is gone, so the timer does not hold the event loop open.
      const cancel = new AbortController();
      const timer = sleep(timeoutMs, "timeout" as const, { signal: cancel.signal }).catch(() => "cancelled" as const);
      try {
        if ((await Promise.race([this.exited, timer])) === "timeout") this.#signalGroup("SIGKILL");
        await this.exited;
      } finally {
        cancel.abort();
      }
    }
    await this.#waitGroupGone();
  }

  /** SIGKILL, as a crash would; resolves once the whole process group is gone. */
  async kill(): Promise<void> {
    this.#child.ref();
    this.#signalGroup("SIGKILL");
    await this.exited;
    await this.#waitGroupGone();
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // group already gone, or never formed: signal the process itself
      if (this.running) this.#child.kill(signal);
    }
  }

  /** Waits until no process of the group is left, so its ports and files are free to reuse. */
  async #waitGroupGone(timeoutMs = 10_000): Promise<void> {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    const deadline = Date.now() + timeoutMs;
    while (groupAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(-pid, "SIGKILL");
        return;
      }
      await sleep(50);
    }
  }

  async #logTail(): Promise<string> {
    return `; last lines of ${this.#options.logFile}:\n${await tailFile(this.#options.logFile)}`;
  }
}

function withGuards(options: ServiceProcessOptions): { command: string; args: string[] } {
  const setpriv = findExecutable("setpriv");
  if (setpriv === null) {
    if (options.runAs) {
      throw new StackError(
        options.service,
        `setpriv (util-linux) is needed to run ${options.service} as ${options.runAs.name}`,
      );
    }
    return { command: options.command, args: [...options.args] };
  }
  const drop = options.runAs ? [`--reuid=${options.runAs.uid}`, `--regid=${options.runAs.gid}`, "--clear-groups"] : [];
  return { command: setpriv, args: ["--pdeathsig", "KILL", ...drop, "--", options.command, ...options.args] };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function describeExit(exit: ServiceExit): string {
  if (exit.error) return exit.error.message;
  return exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}
