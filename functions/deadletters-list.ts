import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `GET /api/sources/{source}/deadletters`: dead letters with reason, attempts and last error. */
export const deadLettersList = httpHandler("deadletters");

app.http("deadletters-list", {
  methods: ["GET"],
  authLevel: "function",
  route: "sources/{source}/deadletters",
  handler: deadLettersList,
});
