import { app } from "./lib/azure.js";
import { httpHandler } from "./lib/http.js";

/** `POST /api/sources/{source}/reimport` with `{}` or `{"mode":"in-place"|"rebuild"}` → 202 `{"jobId":"…"}`; the jobs timer runs it. */
export const reimport = httpHandler("reimport");

app.http("reimport", { methods: ["POST"], authLevel: "function", route: "sources/{source}/reimport", handler: reimport });
