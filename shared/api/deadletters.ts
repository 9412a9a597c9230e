import { z } from "zod";
import { ValidationError } from "../core/errors.js";
import { encodeKey } from "../core/keys.js";
import { parseJsonBody, sourceOf } from "./request.js";
import type { RouteHandler } from "./types.js";

const pageSchema = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** `GET /api/sources/{source}/deadletters?offset=&limit=` → the dead letters with reason, attempts and last error. */
export const listDeadLettersHandler: RouteHandler = async (services, request) => {
  const { queue } = sourceOf(services, request);
  const page = pageSchema.safeParse(Object.fromEntries(request.query));
  if (!page.success) throw new ValidationError("invalid_query", "offset must be >= 0 and limit between 1 and 1000");
  const [items, stats] = await Promise.all([queue.listDeadLetters(page.data), queue.stats(services.clock.now())]);
  return {
    status: 200,
    body: {
      total: stats.deadLettered,
      items: items.map(({ key, reason, attempts, lastError, deadLetteredAt, lane }) => ({
        id: key.id,
        pk: key.pk,
        reason,
        attempts,
        lastError,
        lane,
        deadLetteredAt: new Date(deadLetteredAt).toISOString(),
      })),
    },
  };
};

// `{}` is the None partition key; `{"invalid":"…"}` the key of a document whose partition key
// capture could not use, as its dead letter lists it (core/keys.ts).
const scalar = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.object({}).strict(),
  z.object({ invalid: z.string() }).strict(),
]);
const redriveSchema = z
  .object({
    items: z
      .array(z.object({ id: z.string().min(1), pk: z.union([scalar, z.array(scalar)]) }).strict())
      .min(1)
      .max(10_000)
      .optional(),
  })
  .strict();

/** `POST /api/sources/{source}/deadletters/redrive` with `{}` (all) or `{"items":[{id,pk}]}` → 202 `{"redriven":n}`. */
export const redriveHandler: RouteHandler = async (services, request) => {
  const { queue } = sourceOf(services, request);
  const body = request.body.trim() === "" ? {} : parseJsonBody(request.body);
  const parsed = redriveSchema.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(
      "invalid_body",
      `expected {} or {"items":[{"id":"…","pk":…}]}: ${parsed.error.issues[0]!.message}`,
    );
  }
  const members = parsed.data.items?.map(encodeKey);
  const redriven = await queue.redrive(services.clock.now(), members);
  return { status: 202, body: { redriven } };
};

const purgeSchema = z.union([
  z.object({ all: z.literal(true) }).strict(),
  z.object({ items: redriveSchema.shape.items.unwrap() }).strict(),
]);

/**
 * `POST /api/sources/{source}/deadletters/purge` with `{"items":[{id,pk}]}` or `{"all":true}` →
 * 200 `{"purged":n}`. Purging deletes the record of a failure for good, so "all" has to be said
 * in so many words: an empty body is refused, unlike redrive's.
 */
export const purgeHandler: RouteHandler = async (services, request) => {
  const { queue } = sourceOf(services, request);
  const parsed = purgeSchema.safeParse(parseJsonBody(request.body));
  if (!parsed.success) {
    throw new ValidationError(
      "invalid_body",
      `expected {"items":[{"id":"…","pk":…}]} or {"all":true}: ${parsed.error.issues[0]!.message}`,
    );
  }
  const purged = await queue.purgeDeadLetters("items" in parsed.data ? parsed.data.items.map(encodeKey) : undefined);
  return { status: 200, body: { purged } };
};
