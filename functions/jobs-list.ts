import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/jobs?source=<name>&limit=<n>`: recent reimport and reconcile jobs, newest first (the status page's jobs block). */
export const jobsList = httpHandler("jobs-list");

app.http("jobs-list", { methods: ["GET"], authLevel: "anonymous", route: "jobs", handler: jobsList });
