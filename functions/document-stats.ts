import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/sources/{source}/documents/{id}/stats`: the same windows for one document id. */
export const documentStats = httpHandler("document-stats");

app.http("document-stats", {
  methods: ["GET"],
  authLevel: "function",
  route: "sources/{source}/documents/{id}/stats",
  handler: documentStats,
});
