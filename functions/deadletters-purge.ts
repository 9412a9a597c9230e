import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `POST /api/sources/{source}/deadletters/purge`: delete dead letters for good, by key or `{"all":true}`. */
export const deadLettersPurge = httpHandler("purge");

app.http("deadletters-purge", {
  methods: ["POST"],
  authLevel: "function",
  route: "sources/{source}/deadletters/purge",
  handler: deadLettersPurge,
});
