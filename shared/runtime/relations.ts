import type { RelatedContainer, RelationTarget } from "../capture/relations.js";
import { createDependentsQuery } from "../cosmos/related.js";
import { createDependentsSearch } from "../elastic/dependents.js";
import type { Services } from "./services.js";

/**
 * Wiring, beside the composition root: for each relation naming the container, its source's queue
 * and the finder of its dependents (a Cosmos query, or a search of the source's index on its own target), built
 * from the root's clients. Worker mode and the Functions trigger both use it.
 */
export function relationTargets(services: Services, related: RelatedContainer): RelationTarget[] {
  return related.relations.map(({ source, relation }) => {
    const runtime = services.sources.get(source.name);
    if (!runtime) throw new Error(`unknown source ${source.name}`);
    const finder =
      relation.dependents.via === "index"
        ? createDependentsSearch(
            services.clients.search.forTarget(source.target),
            source.index,
            relation.dependents.field,
            source.sharedIndex ? source.name : undefined,
          )
        : createDependentsQuery(services.clients.cosmos, source, relation);
    return { source: source.name, relation: relation.name, queue: runtime.queue, finder };
  });
}
