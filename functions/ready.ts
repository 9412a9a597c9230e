import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/ready`: 200 when Redis, Elasticsearch and Cosmos DB answer, 503 naming the ones that do not. */
export const ready = httpHandler("ready");

app.http("ready", { methods: ["GET"], authLevel: "anonymous", route: "ready", handler: ready });
