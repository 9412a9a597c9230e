import type { SearchClient } from "./search-client.js";

/** The name of the ELASTICSEARCH_* settings' target (shared/config/targets.ts DEFAULT_TARGET). */
const DEFAULT = "default";

/**
 * One client per search target, shared by every source that writes there: the sink, the index
 * manager, the jobs and the health checks of a source all ask here, by the source's `target`, so
 * no part can write one source's documents to another engine.
 */
export interface SearchTargets {
  /** The client of a source's target; `undefined` and "default" are the ELASTICSEARCH_* target. */
  forTarget(target: string | undefined): SearchClient;
  /** Every target by name, the default first. */
  entries(): readonly (readonly [string, SearchClient])[];
}

export function searchTargets(defaultClient: SearchClient, named: ReadonlyMap<string, SearchClient>): SearchTargets {
  const all: [string, SearchClient][] = [[DEFAULT, defaultClient], ...named];
  return {
    forTarget(target) {
      if (target === undefined || target === DEFAULT) return defaultClient;
      const client = named.get(target);
      // Config validation refuses unknown targets (load-config.ts); reaching this is a wiring bug.
      if (!client) throw new Error(`no search target "${target}"`);
      return client;
    },
    entries: () => all,
  };
}
