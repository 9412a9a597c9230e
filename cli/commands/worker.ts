import { Command } from "commander";
import { loadConfig } from "../../shared/config/index.js";
import { createServiceLogging } from "../../shared/runtime/logging.js";
import { startWorker } from "../../shared/worker/worker.js";

export function workerCommand(): Command {
  return new Command("worker")
    .description("run the HTTP API, the sync loops and the lease reaper in this process (until SIGTERM or SIGINT)")
    .option("--no-sync", "serve the API only; do not drain the queue")
    .action(async (options: { sync: boolean }) => {
      const config = loadConfig(process.env);
      const logging = createServiceLogging(config);
      const { logger } = logging;
      // Listen for the signals before starting: a SIGTERM that arrives while the worker is still
      // connecting must stop it politely too, not kill it with Node's default handler.
      const requested = new Promise<string>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      const worker = await startWorker(
        options.sync ? config : { ...config, worker: { ...config.worker, sync: false } },
        { logger },
      );
      const signal = await requested;
      logger.info({ signal }, "shutdown requested");
      // A second signal means "now": in-flight keys stay leased and the reaper of another worker returns them.
      process.once(signal, () => process.exit(130));
      await worker.stop().catch((error: unknown) => logger.error({ err: String(error) }, "shutdown failed"));
      await logging.close();
    });
}
