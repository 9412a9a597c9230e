import type { CosmosClient, SqlQuerySpec } from "@azure/cosmos";
import type { Relation, SourceConfig } from "../config/source.js";
import { DependencyError } from "../core/errors.js";
import { partitionKeyOrInvalid, type DocKey } from "../core/keys.js";
import type { DependentsFinder, RelatedReader } from "../sync/ports.js";
import { cosmosErrorStatus, describeCosmosError } from "./errors.js";

/** Ids per query: Cosmos caps a query's text and parameters, and one IN list of thousands would near them. */
const IDS_PER_QUERY = 500;

/**
 * Related documents by id, with a cross-partition query per 500 ids
 * (`SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)`): a relation knows the related document's id
 * only, not its partition key, so a bulk point read cannot be addressed. A batch of 100 orders over
 * 10 customers is one query.
 */
export function createRelatedReader(client: CosmosClient, database: string): RelatedReader {
  return {
    async readByIds(container, ids) {
      const found: Record<string, unknown>[] = [];
      for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
        const chunk = ids.slice(start, start + IDS_PER_QUERY);
        const query: SqlQuerySpec = {
          query: "SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)",
          parameters: [{ name: "@ids", value: chunk }],
        };
        found.push(...(await queryAll<Record<string, unknown>>(client, database, container, query)));
      }
      return found;
    },
  };
}

/**
 * The keys of the source's documents whose `foreignKey` holds one of the related ids, with a
 * cross-partition query on the source's own container that projects only the id and the
 * partition key (`dependents.via: "query"`).
 */
export function createDependentsQuery(
  client: CosmosClient,
  source: Pick<SourceConfig, "database" | "container" | "partitionKeyPaths">,
  relation: Pick<Relation, "foreignKey">,
): DependentsFinder {
  const levels = source.partitionKeyPaths.map((path) => path.split("/").filter(Boolean));
  const projection = ["c.id", ...levels.map((segments, i) => `${propertyOf(segments)} AS k${i}`)].join(", ");
  const field = propertyOf(relation.foreignKey.split("."));
  return {
    async find(relatedIds) {
      const keys: DocKey[] = [];
      for (let start = 0; start < relatedIds.length; start += IDS_PER_QUERY) {
        const chunk = relatedIds.slice(start, start + IDS_PER_QUERY);
        // A foreign key may be stored as a number; ids are strings.
        const values = chunk.flatMap((id) => (/^-?\d+(\.\d+)?$/.test(id) ? [id, Number(id)] : [id]));
        const rows = await queryAll<Record<string, unknown>>(client, source.database, source.container, {
          query: `SELECT ${projection} FROM c WHERE ARRAY_CONTAINS(@ids, ${field})`,
          parameters: [{ name: "@ids", value: values }],
        });
        for (const row of rows) {
          if (typeof row.id !== "string") continue;
          // The projection names each level k0, k1…; a level the document lacks is left out of the
          // row, which rebuilds as the None partition key, as Cosmos keys it.
          const document: Record<string, unknown> = { id: row.id };
          levels.forEach((segments, i) => {
            if (Object.hasOwn(row, `k${i}`)) setPath(document, segments, row[`k${i}`]);
          });
          const { pk, invalid } = partitionKeyOrInvalid(document, source.partitionKeyPaths);
          if (!invalid) keys.push({ id: row.id, pk });
        }
      }
      return keys;
    },
  };
}

/** `c["a"]["b"]`: a property path in Cosmos SQL, each name quoted, so any name is safe in the query text. */
function propertyOf(segments: readonly string[]): string {
  return `c${segments.map((name) => `[${JSON.stringify(name)}]`).join("")}`;
}

function setPath(document: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let current = document;
  segments.forEach((name, i) => {
    if (i === segments.length - 1) current[name] = value;
    else {
      if (current[name] === undefined) current[name] = {};
      current = current[name] as Record<string, unknown>;
    }
  });
}

async function queryAll<T>(client: CosmosClient, database: string, container: string, query: SqlQuerySpec) {
  try {
    const { resources } = await client.database(database).container(container).items.query<T>(query).fetchAll();
    return resources;
  } catch (error) {
    const { statusCode } = cosmosErrorStatus(error);
    const retryable =
      statusCode === undefined || statusCode === 408 || statusCode === 410 || statusCode === 429 || statusCode >= 500;
    throw new DependencyError("cosmos", `querying ${container} failed: ${describeCosmosError(error)}`, {
      retryable,
      ...(statusCode === undefined ? {} : { statusCode }),
    });
  }
}
