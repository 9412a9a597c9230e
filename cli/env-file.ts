import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { join } from "node:path";
import { DriftlessError, ValidationError } from "../shared/core/errors.js";

/**
 * `--env-file <path>`: its KEY=value lines fill the settings the environment does not set (the
 * environment wins, as with process.loadEnvFile). Read here rather than by process.loadEnvFile,
 * which on Node 20 ends the process with exit code 9 when the file is missing, before the CLI
 * can say anything.
 */
export function loadEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : code === "EACCES"
            ? "permission denied"
            : (code ?? "unreadable");
    throw new ValidationError("invalid_arguments", `--env-file ${path}: ${why}`);
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] === undefined) env[key] = value;
  }
}

/** The Functions host's settings file; the CLI reads it where it runs, as `func start` does. */
export const LOCAL_SETTINGS_FILE = "local.settings.json";

/**
 * `local.settings.json` in the working directory, when there is one: its `Values` fill the
 * settings that neither the environment nor --env-file set, so the CLI and worker mode run with
 * the same settings as `func start` in that directory. A file that is not the Functions format
 * (no JSON, `Values` not an object of strings) is a configuration error, not something skipped.
 */
export function loadLocalSettings(dir: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): void {
  const path = join(dir, LOCAL_SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new DriftlessError(
      "config_invalid",
      `${LOCAL_SETTINGS_FILE}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DriftlessError("config_invalid", `${LOCAL_SETTINGS_FILE}: not valid JSON (${(error as Error).message})`);
  }
  const values = (json as { Values?: unknown } | null)?.Values;
  if (values === undefined) return;
  if (values === null || typeof values !== "object" || Array.isArray(values))
    throw new DriftlessError("config_invalid", `${LOCAL_SETTINGS_FILE}: Values must be an object of settings`);
  for (const [key, value] of Object.entries(values)) {
    // The Functions host takes strings only; the same file must mean the same thing to both.
    if (typeof value !== "string")
      throw new DriftlessError("config_invalid", `${LOCAL_SETTINGS_FILE}: Values.${key} must be a string`);
    if (env[key] === undefined) env[key] = value;
  }
}
