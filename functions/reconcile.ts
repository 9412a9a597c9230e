import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `POST /api/sources/{source}/reconcile` → 202 `{"jobId":"…"}`: remove what Cosmos DB no longer has; the jobs timer runs it. */
export const reconcile = httpHandler("reconcile");

app.http("reconcile", { methods: ["POST"], authLevel: "function", route: "sources/{source}/reconcile", handler: reconcile });
