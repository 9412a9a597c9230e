import type { RouteHandler } from "./types.js";

/** `GET /api/health` → 200 when every dependency answers, 503 with the failing ones otherwise. */
export const healthHandler: RouteHandler = async (services) => {
  const checks = await services.health();
  const ok = Object.values(checks).every((check) => check.ok);
  return { status: ok ? 200 : 503, body: { status: ok ? "ok" : "degraded", checks } };
};
