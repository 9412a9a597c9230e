import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `POST /api/jobs/{jobId}/cancel` → 202 with the job; a running job stops at its next page (a rebuild deletes its new index). */
export const jobCancel = httpHandler("job-cancel");

app.http("job-cancel", { methods: ["POST"], authLevel: "function", route: "jobs/{jobId}/cancel", handler: jobCancel });
