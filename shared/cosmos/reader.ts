import type { Container, CosmosClient, PartitionKey } from "@azure/cosmos";
import type { DocKey } from "../core/keys.js";
import { describeCosmosError } from "./errors.js";

export type ReadResult =
  | { readonly member: string; readonly found: true; readonly document: Record<string, unknown> }
  | { readonly member: string; readonly found: false }
  | { readonly member: string; readonly error: string };

/** Reads the current version of documents by key: what the sync engine needs from Cosmos. */
export interface SourceReader {
  read(keys: readonly { member: string; key: DocKey }[]): Promise<ReadResult[]>;
}

export interface CosmosReaderOptions {
  /**
   * Point reads in flight at once. Point reads cost 1 RU per 1 KB document, the cheapest read
   * Cosmos offers, and run in parallel over keep-alive sockets. @defaultValue 32
   */
  readonly concurrency?: number;
}

export function createCosmosReader(
  client: CosmosClient,
  location: { database: string; container: string },
  { concurrency = 32 }: CosmosReaderOptions = {},
): SourceReader {
  const container = client.database(location.database).container(location.container);
  return {
    async read(keys) {
      const results = new Array<ReadResult>(keys.length);
      let next = 0;
      const lane = async () => {
        while (next < keys.length) {
          const index = next++;
          results[index] = await readOne(container, keys[index]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, lane));
      return results;
    },
  };
}

async function readOne(container: Container, { member, key }: { member: string; key: DocKey }): Promise<ReadResult> {
  try {
    const response = await container.item(key.id, key.pk as PartitionKey).read<Record<string, unknown>>();
    // The SDK answers a missing document with 404 and no resource rather than throwing.
    if (response.statusCode === 404 || !response.resource) return { member, found: false };
    return { member, found: true, document: response.resource };
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return { member, found: false };
    return { member, error: describeCosmosError(error) };
  }
}
