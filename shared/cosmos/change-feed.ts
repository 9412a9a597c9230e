import { ChangeFeedMode, ChangeFeedStartFrom, type ChangeFeedPullModelIterator, type CosmosClient, type FeedRange } from "@azure/cosmos";
import { describeCosmosError } from "./errors.js";

export type StartFrom = { readonly kind: "now" } | { readonly kind: "beginning" } | { readonly kind: "time"; readonly at: Date };
export type FeedMode = "latestVersion" | "allVersionsAndDeletes";

export interface FeedPage {
  /** Changed documents, or change records with current/previous/metadata in all-versions mode. */
  readonly changes: readonly unknown[];
  /** Where to resume after this page; save it once the page's keys are safe. */
  readonly continuation: string;
  /** Nothing more to read for now (Cosmos answered 304). */
  readonly caughtUp: boolean;
}

/** One feed range of a container, read page by page from a start position or a saved continuation. */
export interface FeedRangeReader {
  /** Stable name of the range (its min and max effective partition key), used to store its continuation. */
  readonly rangeId: string;
  readNext(): Promise<FeedPage>;
}

export class ChangeFeedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChangeFeedError";
  }
}

/**
 * The change feed pull model, one iterator per feed range. A saved continuation wins over the
 * start position, so a restarted reader resumes exactly where the last one saved.
 */
export async function openFeedRanges(
  client: CosmosClient,
  location: { database: string; container: string },
  options: {
    readonly startFrom: StartFrom;
    readonly mode: FeedMode;
    readonly maxItemCount: number;
    readonly continuations: ReadonlyMap<string, string>;
  },
): Promise<FeedRangeReader[]> {
  const container = client.database(location.database).container(location.container);
  let ranges: readonly FeedRange[];
  try {
    ranges = await container.getFeedRanges();
  } catch (error) {
    throw new ChangeFeedError(`cannot list feed ranges: ${describeCosmosError(error)}`, { cause: error });
  }
  return ranges.map((range) => {
    const rangeId = `${range.minInclusive}-${range.maxExclusive}`;
    const saved = options.continuations.get(rangeId);
    const iterator: ChangeFeedPullModelIterator<Record<string, unknown>> = container.items.getChangeFeedIterator({
      maxItemCount: options.maxItemCount,
      changeFeedStartFrom: saved ? ChangeFeedStartFrom.Continuation(saved) : startFrom(options.startFrom, range),
      ...(options.mode === "allVersionsAndDeletes" ? { changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes } : {}),
    });
    return {
      rangeId,
      async readNext(): Promise<FeedPage> {
        try {
          const response = await iterator.readNext();
          return {
            changes: response.result ?? [],
            continuation: response.continuationToken,
            caughtUp: response.statusCode === 304 || (response.result ?? []).length === 0,
          };
        } catch (error) {
          throw new ChangeFeedError(`change feed read failed: ${describeCosmosError(error)}`, { cause: error });
        }
      },
    };
  });
}

function startFrom(start: StartFrom, range: FeedRange) {
  switch (start.kind) {
    case "beginning":
      return ChangeFeedStartFrom.Beginning(range);
    case "time":
      return ChangeFeedStartFrom.Time(start.at, range);
    case "now":
      return ChangeFeedStartFrom.Now(range);
  }
}
