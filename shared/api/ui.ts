import { statusPageHtml } from "../ui/status-page.js";
import type { RouteHandler } from "./types.js";

/** `GET /api/ui`: the status page. It only reads the JSON API, with the caller's own key. */
export const statusPageHandler: RouteHandler = async () => ({
  status: 200,
  body: statusPageHtml,
  contentType: "text/html; charset=utf-8",
});
