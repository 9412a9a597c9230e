import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `POST /api/sources/{source}/deadletters/redrive`: dead letters back to the queue, all or by key. */
export const deadLettersRedrive = httpHandler("redrive");

app.http("deadletters-redrive", {
  methods: ["POST"],
  authLevel: "function",
  route: "sources/{source}/deadletters/redrive",
  handler: deadLettersRedrive,
});
