import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** HTTP producer: `POST /api/sources/{source}/enqueue` with `{"items":[{"id","pk"}]}` or `{"ids":[…]}`. */
export const enqueue = httpHandler("enqueue");

app.http("enqueue", { methods: ["POST"], authLevel: "function", route: "sources/{source}/enqueue", handler: enqueue });
