import type { Container, CosmosClient, OperationInput, OperationResponse, PartitionKey } from "@azure/cosmos";
import type { PartitionKeyValue } from "../core/keys.js";
import type { Prepare, ReadKey, ReadResult, SourceReader } from "../sync/ports.js";
import { cosmosErrorStatus, describeCosmosError, isDocumentNotFound, missingOwnerError } from "./errors.js";

export interface CosmosReaderOptions {
  /**
   * `bulk`: the SDK's bulk Read operations, up to 100 per request, keys grouped by partition key
   * so a request spans as few partitions as it can; the SDK splits it per partition key range and
   * sends those in parallel. Each read still costs what a point read costs (1 RU per 1 KB), but a
   * batch of 1,000 keys is 10 requests instead of 1,000, which makes bulk reads several times
   * faster (the benchmark's Cosmos sweep, bench/README.md).
   * `point`: one request per key.
   * @defaultValue "bulk"
   */
  readonly mode?: "bulk" | "point";
  /** Bulk requests in flight at once, per read() call. @defaultValue 8 */
  readonly bulkConcurrency?: number;
  /** Point reads in flight at once, per read() call (also for a bulk request's fallback). @defaultValue 32 */
  readonly concurrency?: number;
}

/** The most operations Cosmos takes in one bulk request. */
const OPS_PER_BULK_REQUEST = 100;

/** The `prepare` of a read given none: the document itself. */
const asRead: Prepare<Record<string, unknown>> = (document) => document;

/**
 * The SDK's partition key for a key's value. They are the same values: the None partition key is
 * `{}` in both (the SDK's NonePartitionKeyLiteral, sent as `[{}]`), and null is null.
 */
const toPartitionKey = (pk: PartitionKeyValue): PartitionKey => pk as PartitionKey;

export function createCosmosReader(
  client: CosmosClient,
  location: { database: string; container: string },
  { mode = "bulk", bulkConcurrency = 8, concurrency = 32 }: CosmosReaderOptions = {},
): SourceReader {
  const container = client.database(location.database).container(location.container);
  const pointReads = <D>(keys: readonly ReadKey[], prepare: Prepare<D>) =>
    inParallel(keys.length, concurrency, (i) => readOne(container, keys[i]!, prepare));
  const bulkReads = async <D>(keys: readonly ReadKey[], prepare: Prepare<D>) => {
    const order = groupByPartition(keys);
    const results = new Array<ReadResult<D>>(keys.length);
    const requests = Math.ceil(order.length / OPS_PER_BULK_REQUEST);
    await inParallel(requests, bulkConcurrency, async (r) => {
      const slice = order.slice(r * OPS_PER_BULK_REQUEST, (r + 1) * OPS_PER_BULK_REQUEST);
      const read = await readBulk(
        container,
        slice.map((i) => keys[i]!),
        prepare,
        (retry) => pointReads(retry, prepare),
      );
      slice.forEach((keyIndex, n) => {
        results[keyIndex] = read[n]!;
      });
    });
    return results;
  };
  const read = mode === "point" ? pointReads : bulkReads;
  return {
    read: <D = Record<string, unknown>>(keys: readonly ReadKey[], prepare?: Prepare<D>) =>
      read(keys, prepare ?? (asRead as Prepare<D>)),
  };
}

/** Key positions sorted by partition key value, so one bulk request touches few partitions. */
function groupByPartition(keys: readonly ReadKey[]): number[] {
  const partition = keys.map(({ key }) => (typeof key.pk === "string" ? key.pk : JSON.stringify(key.pk)));
  return keys
    .map((_, i) => i)
    .sort((a, b) => (partition[a]! < partition[b]! ? -1 : partition[a]! > partition[b]! ? 1 : a - b));
}

/**
 * One bulk request of Read operations (`items.bulk`); every key gets its own answer: 200 found,
 * 404 not found, anything else an error with its status (a 429 makes the sync back off). Not
 * `executeBulkOperations`: in @azure/cosmos 4.9 it sleeps a fixed second before it sends a partial
 * batch (`intervalForPartialBatchInMs = 1000` in dist/esm/bulk/BulkHelper.js), so every read of a
 * batch smaller than its buffers took at least a second: freshness and throughput both paid it.
 * A key whose answer is a 500, or no answer at all, and every key when the request fails as a
 * whole, is read on its own instead: the cause may be one the point reads do not share (a
 * response too large for documents near 2 MB, a partition key the bulk path refuses), and each
 * then gets a precise answer, so no document is ever stuck behind a bulk request that cannot succeed.
 */
async function readBulk<D>(
  container: Container,
  keys: readonly ReadKey[],
  prepare: Prepare<D>,
  fallback: (keys: readonly ReadKey[]) => Promise<ReadResult<D>[]>,
): Promise<ReadResult<D>[]> {
  const operations: OperationInput[] = keys.map(({ key }) => ({
    operationType: "Read",
    id: key.id,
    partitionKey: toPartitionKey(key.pk),
  }));
  let responses: OperationResponse[];
  try {
    responses = await container.items.bulk(operations, { continueOnError: true });
  } catch {
    return fallback(keys);
  }
  const answers: (ReadResult<D> | undefined)[] = keys.map(({ member }, i) => {
    const response = responses[i];
    if (response?.statusCode === 200 && response.resourceBody)
      return { member, found: true, document: prepare(response.resourceBody as Record<string, unknown>, member) };
    const statusCode = Number(response?.statusCode);
    if (statusCode === 404) {
      const subStatusCode = (response as { subStatusCode?: number } | undefined)?.subStatusCode;
      return isDocumentNotFound(404, subStatusCode)
        ? { member, found: false }
        : missingOwnerError(member, subStatusCode as number);
    }
    if (!Number.isInteger(statusCode) || statusCode === 500) return undefined; // read on its own below
    // A bulk response reports throttling per operation (429, sub-status 3200) with its own wait,
    // past the SDK's typings: BulkResponse.js in @azure/cosmos reads the same two fields.
    const { subStatusCode, retryAfterMilliseconds } = (response ?? {}) as {
      subStatusCode?: number;
      retryAfterMilliseconds?: number;
    };
    return {
      member,
      error: `cosmos ${statusCode}: bulk read failed`,
      statusCode,
      ...(Number.isInteger(subStatusCode) ? { subStatusCode } : {}),
      ...(Number.isFinite(retryAfterMilliseconds) ? { retryAfterMs: retryAfterMilliseconds } : {}),
    };
  });
  const retry = keys.filter((_, i) => answers[i] === undefined);
  if (retry.length === 0) return answers as ReadResult<D>[];
  const reread = new Map((await fallback(retry)).map((answer) => [answer.member, answer]));
  return keys.map(({ member }, i) => answers[i] ?? reread.get(member)!);
}

async function inParallel<T>(count: number, concurrency: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

async function readOne<D>(container: Container, { member, key }: ReadKey, prepare: Prepare<D>): Promise<ReadResult<D>> {
  try {
    const response = await container.item(key.id, toPartitionKey(key.pk)).read<Record<string, unknown>>();
    // The SDK answers a missing document with 404 and no resource rather than throwing.
    if (response.statusCode === 404 || !response.resource) {
      return isDocumentNotFound(response.statusCode, response.substatus)
        ? { member, found: false }
        : missingOwnerError(member, response.substatus!);
    }
    return { member, found: true, document: prepare(response.resource, member) };
  } catch (error) {
    const { code, substatus } = error as { code?: unknown; substatus?: unknown };
    if (code === 404 && isDocumentNotFound(404, substatus)) return { member, found: false };
    return { member, error: describeCosmosError(error), ...cosmosErrorStatus(error) };
  }
}
