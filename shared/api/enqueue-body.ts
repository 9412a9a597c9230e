import { z } from "zod";
import { ValidationError } from "../core/errors.js";

// `{}` is Cosmos's None partition key (a document without the property), apart from null (core/keys.ts).
const scalar = z.union([z.string(), z.number().finite(), z.boolean(), z.null(), z.object({}).strict()]);
// Cosmos forbids these characters in ids; rejecting them here keeps unreadable keys out of the queue.
const FORBIDDEN_IN_ID = /[/\\?#]/;
const ID_MAX_LENGTH = 255;
const id = z
  .string()
  .min(1)
  .max(ID_MAX_LENGTH)
  .refine((value) => !FORBIDDEN_IN_ID.test(value), "must not contain / \\ ? or #");

/** The body of an enqueue request: the schema is the rule, and its messages are the answers to bad bodies. */
const enqueueBodySchema = z.union([
  z.object({ items: z.array(z.object({ id, pk: z.union([scalar, z.array(scalar)]).optional() }).strict()) }).strict(),
  z.object({ ids: z.array(id) }).strict(),
]);

export type EnqueueBody = z.infer<typeof enqueueBodySchema>;

/**
 * The bodies producers send nearly always (`{"items":[{"id":"…"}]}`, with a string, number,
 * boolean or null `pk`, or `{"ids":[…]}`), checked by hand: the schema's union of strict objects
 * was a few percent of a single-key request's CPU and about a third of its garbage (bench/README.md,
 * the producer).
 * Only what the schema accepts, with the value it would give, is returned; anything else,
 * a `{}` or hierarchical `pk` included, is undefined and goes through the schema, so every
 * refusal keeps its message. test/unit/enqueue-body.test.ts holds the two to the same answers.
 */
export function commonEnqueueBody(json: unknown): EnqueueBody | undefined {
  if (!isPlainObject(json)) return undefined;
  const keys = Object.keys(json);
  if (keys.length !== 1) return undefined;
  if (keys[0] === "items") {
    const items = json.items;
    if (!Array.isArray(items)) return undefined;
    const parsed: { id: string; pk?: string | number | boolean | null }[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const item: unknown = items[i];
      if (!isPlainObject(item)) return undefined;
      let count = 0;
      for (const key in item) {
        if (!Object.hasOwn(item, key)) continue;
        if (key !== "id" && key !== "pk") return undefined;
        count++;
      }
      const { id, pk } = item;
      if (!isValidId(id)) return undefined;
      if (count === 1) {
        parsed[i] = { id };
        continue;
      }
      // JSON has no Infinity or NaN, but the value may come from elsewhere: the schema's rule holds.
      const scalarPk =
        typeof pk === "string" ||
        typeof pk === "boolean" ||
        pk === null ||
        (typeof pk === "number" && Number.isFinite(pk));
      if (count !== 2 || !scalarPk) return undefined;
      parsed[i] = { id, pk };
    }
    return { items: parsed };
  }
  if (keys[0] === "ids") {
    const ids = json.ids;
    if (!Array.isArray(ids)) return undefined;
    for (const value of ids) if (!isValidId(value)) return undefined;
    return { ids: ids.slice() as string[] };
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isValidId(value: unknown): value is string {
  return (
    typeof value === "string" && value.length >= 1 && value.length <= ID_MAX_LENGTH && !FORBIDDEN_IN_ID.test(value)
  );
}

/** Any body through the schema: what it refuses, it refuses with the first issue's message and path. */
export function schemaEnqueueBody(json: unknown): EnqueueBody {
  const parsed = enqueueBodySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new ValidationError(
      "invalid_body",
      `expected {"items":[{"id":"…","pk":…}]} or {"ids":["…"]}: ${issue.message}${where}`,
    );
  }
  return parsed.data;
}
