import {
  ChangeFeedMode,
  ChangeFeedStartFrom,
  type ChangeFeedPullModelIterator,
  type CosmosClient,
} from "@azure/cosmos";
import { describeCosmosError } from "./errors.js";

export type StartFrom =
  | { readonly kind: "now" }
  | { readonly kind: "beginning" }
  | { readonly kind: "time"; readonly at: Date };
export type FeedMode = "latestVersion" | "allVersionsAndDeletes";

export interface FeedPage {
  /** Changed documents, or change records with current/previous/metadata in all-versions mode. */
  readonly changes: readonly unknown[];
  /**
   * Where to resume after this page, for every feed range of the container; save it once the
   * page's keys are safe. Undefined while some range has not been read yet and so has no
   * position of its own (see isComplete).
   */
  readonly continuation: string | undefined;
  /** Nothing more to read for now: every feed range answered 304. */
  readonly caughtUp: boolean;
}

/** The change feed of a whole container, read page by page from a start position or a saved continuation. */
export interface ChangeFeedReader {
  readNext(): Promise<FeedPage>;
}

export class ChangeFeedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChangeFeedError";
  }
}

/**
 * The SDK's continuation of a change feed iterator (client/ChangeFeed/CompositeContinuationToken.js):
 * the container's _rid and, per feed range, the etag to read after. Its shape is the SDK's, not
 * a public contract: only this module reads it, and only to check and merge saved tokens.
 */
interface CompositeToken {
  readonly rid: string;
  readonly Continuation: readonly {
    readonly minInclusive: string;
    readonly maxExclusive: string;
    readonly continuationToken: string;
  }[];
}

/**
 * One iterator over the whole container, whose continuation is one composite token that holds
 * the position of every feed range. Splits are the SDK's business: when a range it reads answers
 * 410/1002 (PartitionKeyRangeGone) it refreshes its routing map and goes on with the children from
 * the parent's etag, and a token saved before a split maps each of its ranges onto the ranges
 * that cover it now (client/ChangeFeed/ChangeFeedForEpkRange.js: shouldRetryOnFailure,
 * fetchContinuationTokenFeedRanges). One iterator per range, keyed by the range's boundaries,
 * loses exactly that: after a split no saved position matches the children's boundaries.
 * A saved continuation wins over the start position.
 */
export async function openChangeFeed(
  client: CosmosClient,
  location: { database: string; container: string },
  options: {
    readonly startFrom: StartFrom;
    readonly mode: FeedMode;
    readonly maxItemCount: number;
    readonly continuation: string | undefined;
  },
): Promise<ChangeFeedReader> {
  const container = client.database(location.database).container(location.container);
  const iterator: ChangeFeedPullModelIterator<Record<string, unknown>> = container.items.getChangeFeedIterator({
    maxItemCount: options.maxItemCount,
    changeFeedStartFrom: options.continuation
      ? ChangeFeedStartFrom.Continuation(options.continuation)
      : startFrom(options.startFrom),
    ...(options.mode === "allVersionsAndDeletes" ? { changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes } : {}),
  });
  return {
    async readNext(): Promise<FeedPage> {
      try {
        const response = await iterator.readNext();
        const token = response.continuationToken;
        return {
          changes: response.result ?? [],
          continuation: token && isComplete(token) ? token : undefined,
          caughtUp: response.statusCode === 304 || (response.result ?? []).length === 0,
        };
      } catch (error) {
        throw new ChangeFeedError(`change feed read failed: ${describeCosmosError(error)}`, { cause: error });
      }
    },
  };
}

function startFrom(start: StartFrom) {
  switch (start.kind) {
    case "beginning":
      return ChangeFeedStartFrom.Beginning();
    case "time":
      return ChangeFeedStartFrom.Time(start.at);
    case "now":
      return ChangeFeedStartFrom.Now();
  }
}

function parseToken(text: string): CompositeToken {
  const token = JSON.parse(text) as Partial<CompositeToken>;
  if (typeof token.rid !== "string" || !Array.isArray(token.Continuation))
    throw new Error("not a change feed continuation of @azure/cosmos");
  return token as CompositeToken;
}

/**
 * Whether every range of a token has an etag of its own. The SDK writes an empty one for a range
 * it has not read yet, and a Continuation() start reads such a range from the beginning, whatever
 * the iterator started from; in all-versions-and-deletes mode, which cannot start from the
 * beginning, that read fails. Saving such a token could only repeat changes, or fail; not saving
 * it until every range has been read once costs nothing: an iterator reads every range within
 * as many reads as there are ranges.
 */
export function isComplete(text: string): boolean {
  const { Continuation } = parseToken(text);
  return (
    Continuation.length > 0 &&
    Continuation.every(({ continuationToken }) => continuationToken !== "" && continuationToken !== "*")
  );
}

/**
 * One composite continuation from the per-range ones that driftless kept before it read the
 * container with one iterator (each an SDK token for one feed range, saved under its
 * boundaries). Where those overlap, a range and the children it was split into were both saved:
 * the parent's position is from before the split, so it is the one that skips nothing. Parts of
 * the container no saved range covers never had a position, and start from the beginning (in
 * all-versions-and-deletes mode, which cannot, from now: `*`, what the SDK itself sends for
 * Now()). Tokens of another container, or ranges that overlap without one holding the other,
 * cannot be merged soundly and are refused.
 */
export function mergeRangeContinuations(
  tokens: readonly string[],
  mode: FeedMode,
): { continuation: string; ranges: number; uncovered: number } {
  let parsed: CompositeToken[];
  try {
    parsed = tokens.map(parseToken);
  } catch (error) {
    throw new ChangeFeedError(`a saved per-range continuation cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const rids = new Set(parsed.map((token) => token.rid));
  if (rids.size !== 1)
    throw new ChangeFeedError(
      `the saved per-range continuations belong to ${rids.size} containers (${[...rids].join(", ")}), not one`,
    );
  const entries = parsed
    .flatMap((token) => token.Continuation)
    .sort((a, b) =>
      a.minInclusive !== b.minInclusive
        ? a.minInclusive < b.minInclusive
          ? -1
          : 1
        : a.maxExclusive > b.maxExclusive
          ? -1
          : 1,
    );
  const merged: CompositeToken["Continuation"][number][] = [];
  let uncovered = 0;
  let covered = "";
  for (const entry of entries) {
    if (entry.maxExclusive <= covered && merged.length > 0) continue; // inside a range kept already
    if (entry.minInclusive < covered) {
      throw new ChangeFeedError(
        `saved feed ranges [${merged.at(-1)!.minInclusive}, ${covered}) and [${entry.minInclusive}, ${entry.maxExclusive}) overlap without one holding the other`,
      );
    }
    if (entry.minInclusive > covered) {
      merged.push({
        minInclusive: covered,
        maxExclusive: entry.minInclusive,
        continuationToken: mode === "allVersionsAndDeletes" ? "*" : "",
      });
      uncovered++;
    }
    merged.push(entry);
    covered = entry.maxExclusive;
  }
  if (covered < "FF") {
    merged.push({
      minInclusive: covered,
      maxExclusive: "FF",
      continuationToken: mode === "allVersionsAndDeletes" ? "*" : "",
    });
    uncovered++;
  }
  return {
    continuation: JSON.stringify({ rid: [...rids][0], Continuation: merged }),
    ranges: entries.length,
    uncovered,
  };
}
