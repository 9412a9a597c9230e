import { pino } from "pino";

/** The logging surface the core uses; pino fits it, and so does an adapter over a Functions context. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(fields: object): Logger;
}

/**
 * Structured JSON logs. Secret-bearing fields are redacted by name as a second line of defence;
 * the first is never putting a secret into a log field or an error message at all.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "driftless" },
      redact: {
        paths: ["apiKey", "key", "password", "authorization", "*.apiKey", "*.key", "*.password", "*.authorization"],
        censor: "[redacted]",
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}

export const silentLogger: Logger = createLogger("silent");

/** Removes user info from a URL before it is logged (redis://:password@host, https://user:pass@host). */
export function safeUrl(value: string): string {
  try {
    const url = new URL(value);
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return "[unparseable url]";
  }
}
