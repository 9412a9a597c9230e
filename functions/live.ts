import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/live`: 200 while the app answers; touches no dependency. */
export const live = httpHandler("live");

app.http("live", { methods: ["GET"], authLevel: "anonymous", route: "live", handler: live });
