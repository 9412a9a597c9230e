import type { Container, JSONObject, OperationInput } from "@azure/cosmos";
import { benchDoc } from "./docs.js";
import { pool, rateOf, type Rate } from "./measure.js";

/** Cosmos bulk requests carry at most 100 operations. */
const OPS_PER_REQUEST = 100;

/**
 * Writes documents [from, to) with the SDK's bulk upserts (100 per request, a few requests in
 * flight): much faster against the emulator than one create per document, and idempotent, so a
 * run against an existing container just rewrites the same documents.
 */
export async function seed(
  container: Container,
  from: number,
  to: number,
  revision = 0,
  concurrency = 4,
): Promise<Rate> {
  const started = performance.now();
  const requests = Math.ceil((to - from) / OPS_PER_REQUEST);
  await pool(requests, concurrency, async (r) => {
    const first = from + r * OPS_PER_REQUEST;
    const ops: OperationInput[] = [];
    for (let n = first; n < Math.min(to, first + OPS_PER_REQUEST); n++) {
      const doc = benchDoc(n, revision);
      ops.push({ operationType: "Upsert", partitionKey: doc.tenant, resourceBody: doc as unknown as JSONObject });
    }
    // items.bulk, as the reader: executeBulkOperations (@azure/cosmos 4.9) sleeps a second before
    // sending a partial batch, which made a 200,000-document seed take minutes.
    const responses = await container.items.bulk(ops, { continueOnError: true });
    const failed = responses.filter((response) => !(response?.statusCode < 300));
    if (failed.length > 0 || responses.length !== ops.length)
      throw new Error(`seeding failed for ${failed.length} documents (first status ${failed[0]?.statusCode})`);
  });
  return rateOf(to - from, performance.now() - started);
}
