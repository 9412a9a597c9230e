import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/jobs/{jobId}`: state, scanned, indexed, enqueued, errors, startedAt, finishedAt (and a rebuild's new index). */
export const jobStatus = httpHandler("job-status");

app.http("job-status", { methods: ["GET"], authLevel: "anonymous", route: "jobs/{jobId}", handler: jobStatus });
