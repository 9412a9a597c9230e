import type { estypes } from "@elastic/elasticsearch";
import type { SearchClient as Client } from "./search-client.js";
import { dependencyFailure, toRequestFailure } from "./failure.js";
import { isIndexVersionOf } from "./index-names.js";
import { DRIFTLESS_METADATA } from "./metadata.js";

/**
 * Which indices behind an alias driftless made. A rebuild deletes the index versions it replaces;
 * an index an operator attached to the alias (an archive searched beside the live data, a
 * restored copy) is not driftless's to delete, and stays where the operator put it.
 *
 * An index is driftless's when it is named as one of the alias's versions (`<alias>-` and 17
 * digits) and its mapping's `_meta` does not say otherwise: every version driftless creates
 * carries `_meta.driftless.alias`, which Elasticsearch keeps with the mapping; versions created
 * before that mark existed have none and are recognised by their name alone. The name is required
 * even with the mark: `_clone` copies the mapping, so a clone an operator made of a driftless
 * index carries the mark under a name of the operator's choosing.
 */
export interface IndexesBehind {
  /** Index versions driftless created for the alias. */
  readonly own: readonly string[];
  /** Everything else the alias points at. */
  readonly foreign: readonly string[];
}

/** The `_meta` entry driftless writes into the mapping of every index version it creates. */
export function ownerMark(alias: string): Record<string, unknown> {
  return { [DRIFTLESS_METADATA.field]: { alias } };
}

export function isOwnIndex(owner: string, index: string, meta: unknown): boolean {
  if (!isIndexVersionOf(owner, index)) return false;
  const mark =
    meta !== null && typeof meta === "object" ? (meta as Record<string, unknown>)[DRIFTLESS_METADATA.field] : undefined;
  if (mark === undefined) return true;
  return mark !== null && typeof mark === "object" && (mark as Record<string, unknown>).alias === owner;
}

/**
 * The indices `name` (an alias) points at, split by whether driftless made them for `owner` (the
 * source's alias; `name` itself, or the rebuild alias on a new version). Empty when it does not exist.
 */
export async function indexesBehind(client: Client, name: string, owner = name): Promise<IndexesBehind> {
  let indices: Record<string, estypes.IndicesIndexState>;
  try {
    indices = await client.indices.get({
      index: name,
      features: ["aliases", "mappings"],
      filter_path: "*.aliases,*.mappings._meta",
    });
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return { own: [], foreign: [] };
    throw dependencyFailure(`read of the indices behind "${name}"`, failure);
  }
  const own: string[] = [];
  const foreign: string[] = [];
  for (const [index, state] of Object.entries(indices ?? {})) {
    // A concrete index of that name is not behind an alias: ensureIndex refuses it.
    if (index === name) continue;
    (isOwnIndex(owner, index, state.mappings?._meta) ? own : foreign).push(index);
  }
  return { own: own.sort(), foreign: foreign.sort() };
}
