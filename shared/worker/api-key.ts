import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time key check. Hashing first gives both sides the same length, so neither the
 * comparison nor an early length mismatch tells a caller how close a guess was.
 */
export function keyMatches(expected: string, presented: string | null | undefined): boolean {
  if (!presented) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(presented).digest();
  return timingSafeEqual(a, b);
}

/** The key as Azure Functions accepts it: the `x-functions-key` header or the `code` query parameter. */
export function presentedKey(
  headers: Record<string, string | string[] | undefined>,
  query: URLSearchParams,
): string | null {
  const header = headers["x-functions-key"];
  if (typeof header === "string" && header) return header;
  return query.get("code");
}
