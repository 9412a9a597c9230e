import { errorBody } from "./errors.js";
import type { ApiResponse } from "./types.js";

/** Methods that change nothing; every other method is held to the JSON rule. */
const READ_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

export function isStateChanging(method: string): boolean {
  return !READ_METHODS.has(method.toUpperCase());
}

/**
 * A state-changing request must say `content-type: application/json`, or have no body and no
 * type. A web page can make a browser send a cross-site POST with a `text/plain`, form
 * (`application/x-www-form-urlencoded`, `multipart/form-data`) or untyped body without asking the
 * target first (a CORS "simple request"); a JSON one it sends only after a preflight, which
 * driftless never grants. So a page the operator happens to open cannot purge dead letters or
 * start a job, whatever the host and its keys. Both hosts apply it before the route runs.
 */
export function unsupportedMediaType(
  method: string,
  contentType: string | null | undefined,
  hasBody: boolean,
): ApiResponse | undefined {
  if (!isStateChanging(method)) return undefined;
  if (contentType === null || contentType === undefined || contentType.trim() === "") {
    return hasBody ? refusal("a request body needs content-type: application/json") : undefined;
  }
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/json") return undefined;
  return refusal(`content-type ${mediaType.slice(0, 100) || "(empty)"} is not accepted: send application/json`);
}

function refusal(message: string): ApiResponse {
  return { status: 415, body: errorBody("unsupported_media_type", message) };
}
