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
export function cosmosErrorStatus(error: unknown): {
  statusCode?: number;
  subStatusCode?: number;
  retryAfterMs?: number;
} {
  const { code, substatus, retryAfterInMs, retryAfterInMilliseconds } = (error ?? {}) as {
    code?: unknown;
    substatus?: unknown;
    retryAfterInMs?: unknown;
    retryAfterInMilliseconds?: unknown;
  };
  if (typeof code !== "number") return {};
  const retryAfter = typeof retryAfterInMs === "number" ? retryAfterInMs : retryAfterInMilliseconds;
  return {
    statusCode: code,
    ...(typeof substatus === "number" && substatus !== 0 ? { subStatusCode: substatus } : {}),
    ...(typeof retryAfter === "number" && retryAfter >= 0 ? { retryAfterMs: retryAfter } : {}),
  };
}

/**
 * Sub-status of a 404 whose database or container does not exist (OwnerResourceNotExists):
 * https://learn.microsoft.com/rest/api/cosmos-db/http-status-codes-for-cosmosdb.
 */
export const OWNER_RESOURCE_NOT_EXISTS = 1003;

/**
 * Only a 404 with sub-status 0 (or none) says "this document does not exist". Any other 404 says
 * the container, the database or a session is not there (1003, 1002, …), which is no evidence that
 * the document was deleted: taking it as a delete would empty the index over a typo in a
 * container name or a container being recreated.
 */
export function isDocumentNotFound(statusCode: number | undefined, subStatusCode: unknown): boolean {
  return statusCode === 404 && (subStatusCode === undefined || subStatusCode === 0);
}

/** The read result of a key whose 404 was not about the document (see isDocumentNotFound). */
export function missingOwnerError(
  member: string,
  subStatusCode: number,
): { member: string; error: string; statusCode: 404; subStatusCode: number } {
  const what =
    subStatusCode === OWNER_RESOURCE_NOT_EXISTS
      ? "the container or its database does not exist"
      : "the document could not be looked up";
  return { member, error: `cosmos 404/${subStatusCode}: ${what}`, statusCode: 404, subStatusCode };
}
