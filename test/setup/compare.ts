import type { TestSource } from "./fixtures.js";

/**
 * Compares the index with Cosmos document by document: every live document is indexed at its
 * `_ts` version with the same fields, and nothing else is indexed. Returns the differences.
 */
export async function differences(
  source: TestSource,
  { softDeleteField }: { softDeleteField?: string } = {},
): Promise<string[]> {
  const { resources } = await source.container.items.readAll<Record<string, unknown>>().fetchAll();
  const indexed = await source.indexed();
  const problems: string[] = [];
  const live = new Set<string>();
  for (const document of resources) {
    const id = document.id as string;
    if (softDeleteField && document[softDeleteField] === true) continue;
    live.add(id);
    const entry = indexed.get(id);
    if (!entry) {
      problems.push(`${id}: missing from the index`);
      continue;
    }
    if (entry.version !== document._ts)
      problems.push(`${id}: indexed version ${entry.version}, Cosmos _ts ${String(document._ts)}`);
    for (const field of ["title", "n", "tenant"]) {
      if (JSON.stringify(entry.source[field]) !== JSON.stringify(document[field])) {
        problems.push(
          `${id}: ${field} is ${JSON.stringify(entry.source[field])} in the index, ${JSON.stringify(document[field])} in Cosmos`,
        );
      }
    }
  }
  for (const id of indexed.keys()) if (!live.has(id)) problems.push(`${id}: indexed but not in Cosmos`);
  return problems;
}
