/** A short reason for a failed Cosmos call; never includes headers (they carry the auth token). */
export function describeCosmosError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? firstLine(message) : String(error);
  return code === undefined ? `cosmos: ${text}` : `cosmos ${String(code)}: ${text}`;
}

function firstLine(message: string): string {
  // Cosmos error messages embed JSON and activity ids over many lines; the first line says what happened.
  const line = message.split(/\r?\n/)[0] ?? message;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * The HTTP status of a failed Cosmos call and, for 429, how long Cosmos asked to wait. Transport
 * failures (refused, reset, timed out) have a string code and no status.
 */
export function cosmosErrorStatus(error: unknown): { statusCode?: number; retryAfterMs?: number } {
  const { code, retryAfterInMs, retryAfterInMilliseconds } = (error ?? {}) as { code?: unknown; retryAfterInMs?: unknown; retryAfterInMilliseconds?: unknown };
  if (typeof code !== "number") return {};
  const retryAfter = typeof retryAfterInMs === "number" ? retryAfterInMs : retryAfterInMilliseconds;
  return typeof retryAfter === "number" && retryAfter >= 0 ? { statusCode: code, retryAfterMs: retryAfter } : { statusCode: code };
}
