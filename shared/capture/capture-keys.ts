import type { SourceConfig } from "../config/source.js";
import { partitionKeyOf, type DocKey } from "../core/keys.js";
import type { EnqueueResult, SourceQueue } from "../queue/types.js";

/**
 * Turns a batch of change-feed documents into queue keys on the live lane. A document without
 * a string id cannot be synced and is not worth blocking the feed for: it is counted and skipped
 * (Cosmos itself never produces one).
 */
export async function captureKeys(
  source: SourceConfig,
  queue: SourceQueue,
  documents: readonly unknown[],
  now: number,
): Promise<EnqueueResult & { skipped: number }> {
  const keys: DocKey[] = [];
  let skipped = 0;
  for (const document of documents) {
    if (!document || typeof document !== "object" || typeof (document as { id?: unknown }).id !== "string") {
      skipped++;
      continue;
    }
    const body = document as Record<string, unknown>;
    keys.push({ id: body.id as string, pk: partitionKeyOf(body, source.partitionKeyPaths) });
  }
  if (keys.length === 0) return { enqueued: 0, duplicates: 0, skipped };
  const result = await queue.enqueue(keys, { lane: "live", now });
  return { ...result, skipped };
}
