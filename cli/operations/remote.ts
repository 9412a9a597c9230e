import { routeNamed } from "../../shared/api/index.js";
import { DriftlessError } from "../../shared/core/errors.js";
import { routeError } from "../commands/route.js";
import type { Operations, RouteCall } from "./types.js";

export interface RemoteTarget {
  /** The deployment's base URL, without `/api` (`https://<app>.azurewebsites.net`, `http://127.0.0.1:7071`). */
  readonly url: URL;
  /** A function key (Functions) or DRIFTLESS_API_KEY (worker mode); sent as `x-functions-key`, never printed. */
  readonly key?: string;
  /** One request fails after this long. @defaultValue 30000 */
  readonly timeoutMs?: number;
}

/**
 * The key was refused (401 or 403): the CLI's exit code 5. Kept apart from other API errors so a
 * script can tell a wrong or missing key from a wrong argument.
 */
export class ApiRefusedError extends DriftlessError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "ApiRefusedError";
  }
}

/** The operations through the HTTP API of a deployment (a Functions app or a worker), as the routes answer them there. */
export function remoteOperations(target: RemoteTarget): Operations {
  const call = async (name: string, request: RouteCall = {}): Promise<unknown> => {
    const route = routeNamed(name);
    const path = route.route.replace(/\{(\w+)\}/g, (_, param: string) =>
      encodeURIComponent(request.params?.[param] ?? ""),
    );
    const url = new URL(`api/${path}`, target.url);
    for (const [key, value] of request.query ?? []) url.searchParams.append(key, value);
    const headers: Record<string, string> = { accept: "application/json" };
    if (target.key) headers["x-functions-key"] = target.key;
    const body = request.body ? request.body : undefined;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, {
        method: route.method,
        headers,
        body,
        signal: AbortSignal.timeout(target.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new DriftlessError("api_unreachable", `cannot reach the driftless API at ${target.url.origin}`, {
        retryable: true,
        cause: error,
      });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    if (response.status === 401 || response.status === 403) {
      const refused = routeError(name, response.status, json);
      throw new ApiRefusedError(
        refused.code === "failed" ? "unauthorized" : refused.code,
        `${refused.message} (HTTP ${response.status}${target.key ? "" : "; no key given: --api-key or DRIFTLESS_API_KEY"})`,
      );
    }
    if (response.status >= 400) throw routeError(name, response.status, json);
    if (json === null)
      throw new DriftlessError(
        "bad_response",
        `${name} at ${target.url.origin} answered ${response.status} without JSON; is --api-url the driftless API?`,
      );
    return json;
  };
  return {
    where: "remote",
    call,
    async startJob(kind, source, mode) {
      const body = kind === "reimport" && mode ? JSON.stringify({ mode }) : "";
      return (await call(kind, { params: { source }, body })) as { jobId: string };
    },
    async workOnJob() {
      // The deployment's jobs timer or worker runs the job; this process only follows it.
    },
    async documentCount() {
      return undefined;
    },
  };
}
