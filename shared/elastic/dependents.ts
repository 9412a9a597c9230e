import { decodeKey, type DocKey } from "../core/keys.js";
import type { DependentsFinder } from "../sync/ports.js";
import { dependencyFailure, toRequestFailure } from "./failure.js";
import { DRIFTLESS_METADATA } from "./metadata.js";
import type { SearchClient as Client } from "./search-client.js";

const KEY_FIELD = DRIFTLESS_METADATA.keyField;
const PAGE = 1000;

/**
 * The keys of the indexed documents whose `field` holds one of the related ids
 * (`dependents.via: "index"`): a terms query on the alias, paged through every hit with
 * search_after on `driftless.key` (a keyword, unique per entry, so no hit is skipped or repeated
 * between pages), each hit's Cosmos key read back from that field. A failure throws, so capture
 * does not move past the change. In a shared index (`sharedSource` set) only the source's own
 * entries count: another source's entry is not its dependent, and two sources' keys can be equal,
 * which would make the sort key tie across pages.
 */
export function createDependentsSearch(
  client: Client,
  alias: string,
  field: string,
  sharedSource?: string,
): DependentsFinder {
  return {
    async find(relatedIds) {
      if (relatedIds.length === 0) return [];
      const keys: DocKey[] = [];
      let after: unknown[] | undefined;
      for (;;) {
        let hits: { fields?: Record<string, unknown>; sort?: unknown[] }[];
        try {
          const response = await client.search({
            index: alias,
            size: PAGE,
            query: sharedSource
              ? {
                  bool: {
                    filter: [
                      { terms: { [field]: [...relatedIds] } },
                      { term: { [DRIFTLESS_METADATA.sourceField]: sharedSource } },
                    ],
                  },
                }
              : { terms: { [field]: [...relatedIds] } },
            sort: [{ [KEY_FIELD]: "asc" }],
            ...(after ? { search_after: after as never } : {}),
            _source: false,
            docvalue_fields: [KEY_FIELD],
            track_total_hits: false,
          });
          hits = response.hits.hits as typeof hits;
        } catch (error) {
          throw dependencyFailure(`finding the documents of ${alias} whose ${field} changed`, toRequestFailure(error));
        }
        for (const hit of hits) {
          const value = (hit.fields?.[KEY_FIELD] as unknown[] | undefined)?.[0];
          if (typeof value !== "string") continue; // not written by driftless: no key to enqueue
          try {
            keys.push(decodeKey(value));
          } catch {
            // An entry someone else wrote with a key driftless cannot read: not a document of the source.
          }
        }
        if (hits.length < PAGE) return keys;
        after = hits.at(-1)!.sort;
      }
    },
  };
}
