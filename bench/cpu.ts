import { readdir, readFile, readlink } from "node:fs/promises";

/**
 * Where the machine's CPU went during a measurement (Linux /proc): per process of the stack, and
 * everything else on the machine. On a shared 2-core machine that is what explains a number.
 */

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** The pid of the process listening on a loopback TCP port, found through /proc/net/tcp{,6} and its fds. */
export async function listeningPid(port: number): Promise<number | undefined> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ip:port in hex; state 0A is LISTEN; field 9 is the socket inode.
      if (fields[3] === "0A" && Number.parseInt(fields[1]?.split(":")[1] ?? "", 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return Number(entry);
    }
  }
  return undefined;
}

/** User + system CPU a process has used so far, in ms; 0 once it is gone. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * CPU time of the whole machine so far (all cores), in ms: `busy` in this machine, and `steal`,
 * the time its vCPUs had work but the hypervisor ran something else (on a shared host, the
 * neighbours' share of a measurement).
 */
export async function machineCpuMs(): Promise<{ busy: number; steal: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return {
    busy: ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) * TICK_MS,
    steal: (steal ?? 0) * TICK_MS,
  };
}

export type Cores = Record<string, number>;

/**
 * A running tally: `stop()` gives the cores each named process used since `start`, `others` for
 * the rest of the machine, and `steal` for what the host took from it.
 */
export async function cpuMeter(pids: Record<string, number | undefined>) {
  const named = Object.entries(pids).filter((entry): entry is [string, number] => entry[1] !== undefined);
  const read = async () => ({
    at: performance.now(),
    machine: await machineCpuMs(),
    each: await Promise.all(named.map(([, pid]) => processCpuMs(pid))),
  });
  const before = await read();
  return {
    async stop(): Promise<Cores> {
      const after = await read();
      const seconds = (after.at - before.at) / 1000;
      const perSecond = (ms: number) => Math.round((ms / 1000 / seconds) * 100) / 100;
      const cores: Cores = {};
      let ours = 0;
      named.forEach(([name], i) => {
        const used = after.each[i]! - before.each[i]!;
        ours += used;
        cores[name] = perSecond(used);
      });
      cores.others = perSecond(Math.max(0, after.machine.busy - before.machine.busy - ours));
      cores.steal = perSecond(after.machine.steal - before.machine.steal);
      return cores;
    },
  };
}

export const formatCores = (cores: Cores) =>
  Object.entries(cores)
    .map(([name, value]) => `${name} ${value.toFixed(2)}`)
    .join(", ");

/**
 * Waits until the whole machine is quiet (under `maxCores` busy over half a second), for at most
 * `timeoutMs`, and returns how long that took. A phase that follows one which indexed 100,000
 * documents otherwise shares the cores with Elasticsearch's merges of them, and measures those.
 */
export async function waitForQuiet(maxCores = 0.15, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const meter = await cpuMeter({});
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { others = 0, steal = 0 } = await meter.stop();
    const waited = performance.now() - started;
    if (others + steal < maxCores || waited >= timeoutMs) return Math.round(waited);
  }
}
