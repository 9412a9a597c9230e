import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { ValidationError } from "../shared/core/errors.js";

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
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (code ?? "unreadable");
    throw new ValidationError("invalid_arguments", `--env-file ${path}: ${why}`);
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] === undefined) env[key] = value;
  }
}
