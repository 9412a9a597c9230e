import type { HealthCheck, RouteHandler } from "./types.js";

/** `GET /api/health` → 200 when every dependency answers, 503 with the failing ones otherwise. */
export const healthHandler: RouteHandler = async (services) => {
  const checks = await services.health();
  const ok = Object.values(checks).every((check) => check.ok);
  return { status: ok ? 200 : 503, body: { status: ok ? "ok" : "degraded", checks } };
};

/** For a caller without a key: each failing check keeps `ok` and `latencyMs`, its `error` (a dependency's own message, with hosts and ports) is replaced. */
export function redactHealth(body: unknown, redacted: string): unknown {
  const checks = (body as { checks?: Record<string, HealthCheck> } | null)?.checks;
  if (!checks) return body;
  const hidden = Object.fromEntries(
    Object.entries(checks).map(([name, check]) => [
      name,
      check.error === undefined ? check : { ...check, error: redacted },
    ]),
  );
  return { ...(body as object), checks: hidden };
}
