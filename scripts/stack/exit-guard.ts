/**
 * Kills registered child processes when this process goes away, so that a crashed test run or an
 * interrupted `make dev` leaves no Redis, Elasticsearch or emulator behind. Children run in their
 * own process group (so Ctrl-C reaches only the parent, which can then shut down in order); that
 * is why nothing else would stop them.
 */
const killers = new Set<() => void>();
let installed = false;

/** Registers a synchronous kill; returns the function that unregisters it. */
export function killOnExit(kill: () => void): () => void {
  install();
  killers.add(kill);
  return () => {
    killers.delete(kill);
  };
}

function killAll(): void {
  for (const kill of killers) {
    try {
      kill();
    } catch {
      // already gone
    }
  }
  killers.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      // Another listener (make dev's graceful shutdown, vitest) owns this signal and will stop the
      // stack or exit, which runs killAll; acting here would pull the services out from under it.
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.removeListener(signal, onSignal);
      // Re-raise so the process ends the way it would have without this listener.
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
