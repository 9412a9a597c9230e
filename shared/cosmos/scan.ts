import type { CosmosClient } from "@azure/cosmos";
import { DependencyError } from "../core/errors.js";
import { cosmosErrorStatus, describeCosmosError } from "./errors.js";

export interface ScanPage {
  readonly documents: Record<string, unknown>[];
  /** Where the next page starts; undefined after the last page. */
  readonly continuation: string | undefined;
}

/** Reads a whole container page by page, full documents, resumable from a saved continuation. */
export interface ContainerScanner {
  readPage(continuation: string | undefined, pageSize: number): Promise<ScanPage>;
}

/**
 * The read feed of the container (`readAll`, a cross-partition `SELECT * FROM c`). One page per
 * call, so the caller can save the continuation after each page and resume after a crash.
 *
 * Pages should be large: each one is a request (and, on the local emulator, a scan of the whole
 * container). A failure is a DependencyError, retryable for throttling, timeouts and 5xx.
 */
export function createContainerScanner(
  client: CosmosClient,
  location: { database: string; container: string },
): ContainerScanner {
  const container = client.database(location.database).container(location.container);
  return {
    async readPage(continuation, pageSize) {
      try {
        const response = await container.items
          .readAll<Record<string, unknown>>({
            maxItemCount: pageSize,
            ...(continuation ? { continuationToken: continuation } : {}),
          })
          .fetchNext();
        return { documents: response.resources ?? [], continuation: response.continuationToken || undefined };
      } catch (error) {
        const { statusCode } = cosmosErrorStatus(error);
        const retryable =
          statusCode === undefined ||
          statusCode === 408 ||
          statusCode === 410 ||
          statusCode === 429 ||
          statusCode >= 500;
        throw new DependencyError(
          "cosmos",
          `reading a page of ${location.container} failed: ${describeCosmosError(error)}`,
          {
            retryable,
            ...(statusCode === undefined ? {} : { statusCode }),
          },
        );
      }
    },
  };
}
