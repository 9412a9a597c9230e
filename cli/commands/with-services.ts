import { loadConfig } from "../../shared/config/index.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { createLogger } from "../../shared/telemetry/logger.js";

/**
 * Runs a command against the configured services and always closes the connections after. Its
 * logs go to stderr: stdout is the command's answer, which scripts parse (`status --json | jq`).
 */
export async function withServices<T>(run: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const services = createServices(config, createLogger(process.env.LOG_LEVEL ?? "warn", process.stderr));
  try {
    return await run(services);
  } finally {
    await services.close();
  }
}
