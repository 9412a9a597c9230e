import {
  PartitionKeyDefinitionVersion,
  PartitionKeyKind,
  type CosmosClient,
  type PartitionKeyDefinition,
} from "@azure/cosmos";
import type { SourceConfig } from "../config/source.js";
import { describeCosmosError } from "./errors.js";

export interface ProvisionedContainer {
  readonly database: string;
  readonly container: string;
  readonly created: boolean;
  /** Why the existing container does not fit the source (another partition key), if it does not. */
  readonly problem?: string;
  /** A related container that does not exist (checkRelatedContainers never creates one). */
  readonly missing?: boolean;
}

/**
 * The partition key definition a source's paths call for: one path is a hash key, several a
 * hierarchical (MultiHash, version 2) key, as Cosmos DB defines them
 * (https://learn.microsoft.com/azure/cosmos-db/hierarchical-partition-keys).
 */
export function partitionKeyDefinition(paths: readonly string[]): PartitionKeyDefinition {
  return paths.length > 1
    ? { paths: [...paths], kind: PartitionKeyKind.MultiHash, version: PartitionKeyDefinitionVersion.V2 }
    : { paths: [...paths], kind: PartitionKeyKind.Hash, version: PartitionKeyDefinitionVersion.V2 };
}

/**
 * Creates what a source needs in Cosmos DB when it is missing: its database, its container with the
 * source's partition key, and the lease container the Functions trigger keeps its leases in (in the
 * same database, partitioned by /id as the trigger requires). An existing container is left as it is
 * and checked: one whose partition key differs from the source's is reported, never recreated.
 * Needs a key (or a control-plane role): Entra data-plane roles cannot create containers.
 */
export async function provisionSource(
  client: CosmosClient,
  source: SourceConfig,
  leaseContainer: string,
): Promise<ProvisionedContainer[]> {
  try {
    const { database } = await client.databases.createIfNotExists({ id: source.database });
    const results: ProvisionedContainer[] = [];
    for (const [id, paths] of [
      [source.container, source.partitionKeyPaths],
      [leaseContainer, ["/id"]],
    ] as const) {
      const response = await database.containers.createIfNotExists({ id, partitionKey: partitionKeyDefinition(paths) });
      const existing = response.resource?.partitionKey?.paths ?? [];
      const created = response.statusCode === 201;
      const problem =
        JSON.stringify(existing) === JSON.stringify(paths)
          ? undefined
          : `container ${source.database}/${id} is partitioned by ${existing.join(", ") || "nothing"}, not ${paths.join(", ")}`;
      results.push({ database: source.database, container: id, created, ...(problem ? { problem } : {}) });
    }
    return results;
  } catch (error) {
    throw new Error(`cannot create the containers of source ${source.name}: ${describeCosmosError(error)}`, {
      cause: error,
    });
  }
}

/**
 * The containers that sources' relations read, each checked once: they hold the user's own data
 * (customers for orders), so they are never created here (driftless does not know their partition
 * key); a missing one is reported, since every batch of its sources would fail its related read.
 */
export async function checkRelatedContainers(
  client: CosmosClient,
  related: readonly { database: string; container: string; relations: readonly { source: { name: string } }[] }[],
): Promise<ProvisionedContainer[]> {
  const results: ProvisionedContainer[] = [];
  for (const { database, container, relations } of related) {
    const readers = [...new Set(relations.map((relation) => relation.source.name))].join(", ");
    let missing: boolean;
    try {
      const { statusCode } = await client.database(database).container(container).read();
      missing = statusCode === 404;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404)
        throw new Error(`cannot check the related container ${database}/${container}: ${describeCosmosError(error)}`, {
          cause: error,
        });
      missing = true;
    }
    results.push({
      database,
      container,
      created: false,
      ...(missing
        ? {
            missing: true,
            problem: `container ${database}/${container}, which the relations of ${readers} read, does not exist: create it with its data (driftless does not, not knowing its partition key)`,
          }
        : {}),
    });
  }
  return results;
}
