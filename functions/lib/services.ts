import { loadConfig, type Config } from "../../shared/config/index.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { createServiceLogging } from "../../shared/runtime/logging.js";
import { systemClock } from "../../shared/core/clock.js";
import { ticketSenderFor } from "./ticket-sender.js";

let config: Config | undefined;
let services: Promise<Services> | undefined;
let indexes: Promise<void> | undefined;

/**
 * Config is validated the first time anything asks for it (function registration does, at host
 * start), so a bad setting fails the host with a message that names it.
 */
export function getConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

/**
 * One set of clients per worker process, reused by every invocation. It does not wait for
 * Elasticsearch: capture and the HTTP routes need Redis alone (the routes that read Elasticsearch
 * answer 503 by themselves while it is down), so they keep working while it is unreachable. A
 * start that throws has closed what it opened (createServices), and the next invocation tries again.
 */
export function getServices(): Promise<Services> {
  services ??= (async () => {
    const current = getConfig();
    // Inside an invocation its lines go to the invocation's log (functions/lib/invocation.ts).
    // With Service Bus, live enqueues (capture, the producer) wake their source's drain at once.
    const ticketSender = ticketSenderFor(current) ?? undefined;
    return createServices(
      current,
      createServiceLogging(current).logger,
      systemClock,
      ticketSender ? { ticketSender } : {},
    );
  })().catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
}

/**
 * The clients once every source's index and alias exist: for what writes to Elasticsearch (the
 * sync, the jobs), which must never let it auto-create an index with a guessed mapping. Checked
 * once per process; a failure is not cached, so the next invocation checks again with the same
 * clients instead of opening new ones.
 */
export async function getReadyServices(): Promise<Services> {
  const current = await getServices();
  indexes ??= current.ensureIndexes().then(
    () => undefined,
    (error: unknown) => {
      indexes = undefined;
      throw error;
    },
  );
  await indexes;
  return current;
}
