import type { SearchClient as Client } from "./search-client.js";
import { DRIFTLESS_METADATA } from "./metadata.js";
import { dependencyFailure, toRequestFailure } from "./failure.js";

/**
 * The small index and alias operations a rebuild needs besides createIndexVersion and swapAlias.
 * Each is safe to repeat: a rebuild that crashed half-way runs its steps again.
 */

/** The concrete indices behind an alias; empty when it does not exist. */
export async function aliasTargets(client: Client, alias: string): Promise<string[]> {
  try {
    return Object.keys(await client.indices.getAlias({ name: alias }));
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return [];
    throw dependencyFailure(`read of alias "${alias}"`, failure);
  }
}

export async function addAlias(client: Client, index: string, alias: string): Promise<void> {
  try {
    await client.indices.updateAliases({ actions: [{ add: { index, alias, is_write_index: true } }] });
  } catch (error) {
    throw dependencyFailure(`adding alias "${alias}" to ${index}`, toRequestFailure(error));
  }
}

/** Removes the alias from the index; nothing to do when either is gone already. */
export async function removeAlias(client: Client, index: string, alias: string): Promise<void> {
  try {
    await client.indices.deleteAlias({ index, name: alias });
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return;
    throw dependencyFailure(`removing alias "${alias}" from ${index}`, failure);
  }
}

/** Deletes a concrete index; nothing to do when it is gone already. */
export async function deleteIndex(client: Client, index: string): Promise<void> {
  try {
    await client.indices.delete({ index });
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return;
    throw dependencyFailure(`deletion of index ${index}`, failure);
  }
}

/** Updates dynamic settings of a concrete index (`null` resets a setting to its default). */
export async function putIndexSettings(
  client: Client,
  index: string,
  settings: Record<string, string | number | null>,
): Promise<void> {
  try {
    await client.indices.putSettings({ index, settings });
  } catch (error) {
    throw dependencyFailure(`update of the settings of ${index}`, toRequestFailure(error));
  }
}

/** Makes everything written so far visible to search (before an alias swap makes the index live). */
export async function refreshIndex(client: Client, index: string): Promise<void> {
  try {
    await client.indices.refresh({ index });
  } catch (error) {
    throw dependencyFailure(`refresh of ${index}`, toRequestFailure(error));
  }
}

/** Documents behind an alias (an estimate of a scan's size for progress display). */
export async function countDocuments(client: Client, alias: string, source?: string): Promise<number> {
  try {
    // In an index several sources share, one source's count is its own entries (metadata.ts sourceField).
    const query = source === undefined ? {} : { query: { term: { [DRIFTLESS_METADATA.sourceField]: source } } };
    return (await client.count({ index: alias, ...query })).count;
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return 0;
    throw dependencyFailure(`count of "${alias}"`, failure);
  }
}
