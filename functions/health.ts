import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/health`: 200 when Redis, Elasticsearch and Cosmos DB answer, 503 otherwise. */
export const health = httpHandler("health");

app.http("health", { methods: ["GET"], authLevel: "anonymous", route: "health", handler: health });
