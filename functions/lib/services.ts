import { loadConfig, type Config } from "../../shared/config/index.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { createLogger } from "../../shared/telemetry/logger.js";

let config: Config | undefined;
let services: Promise<Services> | undefined;

/**
 * Config is validated the first time anything asks for it (function registration does, at host
 * start), so a bad setting fails the host with a message that names it.
 */
export function getConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

/** One set of clients per worker process, reused by every invocation. */
export function getServices(): Promise<Services> {
  services ??= (async () => {
    const current = getConfig();
    const created = createServices(current, createLogger(current.logLevel));
    await created.ensureIndexes();
    return created;
  })().catch((error: unknown) => {
    // Let the next invocation try again instead of caching the failure forever.
    services = undefined;
    throw error;
  });
  return services;
}
