import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/sources/{source}/stats`: changes synced in the last 5m, 1h, 1d, 2d and 3d (the sync history). */
export const sourceStats = httpHandler("source-stats");

app.http("source-stats", { methods: ["GET"], authLevel: "anonymous", route: "sources/{source}/stats", handler: sourceStats });
