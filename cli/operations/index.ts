import { ValidationError } from "../../shared/core/errors.js";
import { withServices } from "../commands/with-services.js";
import { localOperations } from "./local.js";
import { remoteOperations, type RemoteTarget } from "./remote.js";
import type { Operations } from "./types.js";

export type { Operations } from "./types.js";

let remote: RemoteTarget | undefined;

/**
 * Chooses where the operator commands run, once, before any command does (main.ts): remote when
 * an API URL is given (`--api-url`, else DRIFTLESS_API_URL), with `--api-key`, else
 * DRIFTLESS_API_KEY, as the key; local otherwise.
 */
export function chooseOperations(
  options: { apiUrl?: string; apiKey?: string },
  env: NodeJS.ProcessEnv = process.env,
): void {
  const raw = options.apiUrl ?? env.DRIFTLESS_API_URL?.trim();
  if (!raw) {
    remote = undefined;
    return;
  }
  const from = options.apiUrl ? "--api-url" : "DRIFTLESS_API_URL";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError("invalid_arguments", `${from}: not a URL (expected http(s)://host[:port])`);
  }
  if (!/^https?:$/.test(url.protocol))
    throw new ValidationError("invalid_arguments", `${from}: must be an http:// or https:// URL`);
  if (url.username || url.password)
    throw new ValidationError(
      "invalid_arguments",
      `${from}: must not carry user info; give the key with --api-key or DRIFTLESS_API_KEY`,
    );
  // The base of the deployment; routes are under /api/ (a URL given with /api is taken as well).
  url.pathname = `${url.pathname.replace(/\/+$/, "").replace(/\/api$/, "")}/`;
  url.search = "";
  url.hash = "";
  const key = options.apiKey ?? (env.DRIFTLESS_API_KEY?.trim() || undefined);
  remote = { url, ...(key ? { key } : {}) };
}

/** Runs an operator command against the operations chosen: the deployment's API, or the services here (closed after). */
export async function withOperations<T>(run: (operations: Operations) => Promise<T>): Promise<T> {
  if (remote) return run(remoteOperations(remote));
  return withServices((services) => run(localOperations(services)));
}
