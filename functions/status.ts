import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/status`: queue depth, in-flight, dead letters, lag and last sync per source. */
export const status = httpHandler("status");

app.http("status", { methods: ["GET"], authLevel: "anonymous", route: "status", handler: status });
