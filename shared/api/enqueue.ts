import type { SourceConfig } from "../config/source.js";
import { DependencyError, ValidationError } from "../core/errors.js";
import type { DocKey } from "../core/keys.js";
import { commonEnqueueBody, schemaEnqueueBody, type EnqueueBody } from "./enqueue-body.js";
import { parseJsonBody, sourceOf } from "./request.js";
import type { RouteHandler } from "./types.js";

/** `POST /api/sources/{source}/enqueue` → 202 `{"enqueued":n,"duplicates":m}`. Validates everything before touching the queue. */
export const enqueueHandler: RouteHandler = async (services, request) => {
  const { config, queue } = sourceOf(services, request);
  const keys = parseEnqueueBody(request.body, config, services.limits.maxItems);
  let result: Awaited<ReturnType<typeof queue.enqueue>>;
  try {
    result = await queue.enqueue(keys, { lane: "live", now: services.clock.now() });
  } catch (error) {
    throw new DependencyError("redis", "could not enqueue", { cause: error });
  }
  return { status: 202, body: { enqueued: result.enqueued, duplicates: result.duplicates } };
};

export function parseEnqueueBody(text: string, source: SourceConfig, maxItems: number): DocKey[] {
  const json = parseJsonBody(text);
  return enqueueKeys(commonEnqueueBody(json) ?? schemaEnqueueBody(json), source, maxItems);
}

/** The keys a valid body names, for its source: counts and partition keys checked. */
export function enqueueKeys(body: EnqueueBody, source: SourceConfig, maxItems: number): DocKey[] {
  const count = "items" in body ? body.items.length : body.ids.length;
  if (count === 0) throw new ValidationError("no_items", "the request names no documents");
  if (count > maxItems) {
    throw new ValidationError("too_many_items", `at most ${maxItems} items per request, got ${count}`, 413);
  }
  const pkIsId = source.partitionKeyPaths.length === 1 && source.partitionKeyPaths[0] === "/id";
  if ("ids" in body) {
    if (!pkIsId) {
      throw new ValidationError(
        "partition_key_required",
        `source "${source.name}" is partitioned by ${source.partitionKeyPaths.join(", ")}; send items with id and pk`,
      );
    }
    return body.ids.map((value) => ({ id: value, pk: value }));
  }
  return body.items.map((item, index) => {
    if (item.pk === undefined) {
      if (pkIsId) return { id: item.id, pk: item.id };
      throw new ValidationError("partition_key_required", `items.${index}.pk is required for source "${source.name}"`);
    }
    const hierarchical = source.partitionKeyPaths.length > 1;
    if (
      hierarchical !== Array.isArray(item.pk) ||
      (Array.isArray(item.pk) && item.pk.length !== source.partitionKeyPaths.length)
    ) {
      throw new ValidationError(
        "invalid_partition_key",
        `items.${index}.pk must be ${hierarchical ? `a list of ${source.partitionKeyPaths.length} values` : "a single value"}`,
      );
    }
    return { id: item.id, pk: item.pk };
  });
}
