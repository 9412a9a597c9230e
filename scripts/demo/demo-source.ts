import type { CosmosClient } from "@azure/cosmos";
import type { SourceDefinition } from "../../shared/config/index.js";

/** The `demo` source `make dev` creates: a small product catalogue partitioned by tenant. */
export const demoSource = {
  name: "demo",
  database: "driftless",
  container: "demo",
  partitionKeyPath: "/tenant",
  index: "demo",
  mapping: {
    properties: {
      id: { type: "keyword" },
      tenant: { type: "keyword" },
      title: { type: "text" },
      description: { type: "text" },
      price: { type: "double" },
      tags: { type: "keyword" },
      stock: { properties: { warehouse: { type: "keyword" }, quantity: { type: "integer" } } },
      updatedAt: { type: "date" },
    },
  },
  softDeleteField: "isDeleted",
} satisfies Omit<SourceDefinition, "documentId" | "mapping"> & { mapping: Record<string, unknown> };

const words = ["amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"];

export function sampleDocument(n: number) {
  const word = words[n % words.length]!;
  return {
    id: `product-${n}`,
    tenant: `tenant-${n % 3}`,
    title: `${word} lamp ${n}`,
    description: `A ${word} coloured lamp, number ${n} of the demo catalogue.`,
    price: Math.round((10 + n * 1.37) * 100) / 100,
    tags: [word, n % 2 ? "odd" : "even"],
    stock: { warehouse: `wh-${n % 4}`, quantity: (n * 7) % 50 },
    updatedAt: new Date().toISOString(),
  };
}

/** Creates the demo database and container (idempotent) and upserts `count` sample documents. */
export async function seedDemo(client: CosmosClient, count: number) {
  const { database } = await client.databases.createIfNotExists({ id: demoSource.database });
  const { container } = await database.containers.createIfNotExists({
    id: demoSource.container,
    partitionKey: { paths: [demoSource.partitionKeyPath] },
  });
  const documents = Array.from({ length: count }, (_, i) => sampleDocument(i + 1));
  for (const document of documents) await container.items.upsert(document);
  return documents.map(({ id, tenant }) => ({ id, pk: tenant }));
}
