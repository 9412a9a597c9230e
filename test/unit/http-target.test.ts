import { describe, expect, it } from "vitest";
import { parseTarget } from "../../shared/worker/http-server.js";

/** The worker splits request targets by hand on its hot path; it must route exactly as a URL parse would. */
describe("parseTarget", () => {
  const targets = [
    "/api/status",
    "/api/status?",
    "/api/sources/a%20b/enqueue?code=x&y=1&y=2",
    "/api/sources/caf%C3%A9/enqueue",
    '/api/sources/a"b/deadletters?offset=1',
    "/api/../metrics",
    "/api/sources/x/./enqueue",
    "//evil/api/x",
    "/api\\status",
    "/api/status#fragment",
    "http://example.com/api/status?code=1",
    "/metrics",
    "/",
  ];
  it.each(targets)("%s: same path (decoded) and query as new URL()", (target) => {
    const url = new URL(target, "http://localhost");
    const parsed = parseTarget(target);
    expect(decodeURIComponent(parsed.pathname)).toBe(decodeURIComponent(url.pathname));
    expect([...parsed.searchParams]).toEqual([...url.searchParams]);
  });
});
