import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/ui`: the built-in status page (queue depth, lag, throughput, dead letters, jobs). */
export const statusPage = httpHandler("status-page");

app.http("status-page", { methods: ["GET"], authLevel: "anonymous", route: "ui", handler: statusPage });
