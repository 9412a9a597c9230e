import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/sources/{source}/history?minutes=30`: changes synced per time bucket (the status page's chart). */
export const sourceHistory = httpHandler("source-history");

app.http("source-history", { methods: ["GET"], authLevel: "anonymous", route: "sources/{source}/history", handler: sourceHistory });
