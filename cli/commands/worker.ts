import { Command } from "commander";
import { loadConfig } from "../../shared/config/index.js";
import { createLogger } from "../../shared/telemetry/logger.js";
import { startWorker } from "../../shared/worker/worker.js";

export function workerCommand(): Command {
  return new Command("worker")
    .description("run the HTTP API, the sync loops and the lease reaper in this process (until SIGTERM or SIGINT)")
    .option("--no-sync", "serve the API only; do not drain the queue")
    .action(async (options: { sync: boolean }) => {
      const config = loadConfig(process.env);
      const logger = createLogger(config.logLevel);
      const worker = await startWorker(options.sync ? config : { ...config, worker: { ...config.worker, sync: false } }, { logger });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, "shutdown requested");
          // A second signal means "now": in-flight keys stay leased and the reaper of another worker returns them.
          process.once(signal, () => process.exit(130));
          worker.stop().then(resolve, (error: unknown) => {
            logger.error({ err: String(error) }, "shutdown failed");
            resolve();
          });
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
    });
}
