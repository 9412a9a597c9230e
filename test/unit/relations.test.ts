import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { changedIds, relatedContainers, relationCaptureName } from "../../shared/capture/relations.js";
import { loadConfig } from "../../shared/config/index.js";
import { createMapper, TransformError } from "../../shared/sync/mapper.js";
import { foreignKeyOf, loadRelated } from "../../shared/sync/relations.js";
import { BASE_ENV, configError as configErrorOf } from "../setup/config-env.js";

const MODULE = fileURLToPath(new URL("../fixtures/transforms/orders-with-customer.js", import.meta.url));
const ORDERS = {
  name: "orders",
  database: "shop",
  container: "orders",
  partitionKeyPath: "/tenant",
  index: "orders",
  transform: { module: MODULE },
  relations: [{ name: "customer", container: "customers", foreignKey: "customerId" }],
};

const envWith = (sources: unknown) => ({ ...BASE_ENV, DRIFTLESS_SOURCES: JSON.stringify(sources) });
const load = (sources: unknown) => loadConfig(envWith(sources));
const configError = (sources: unknown): string => configErrorOf(envWith(sources)).message;

describe("relations: the source definition", () => {
  it("takes a relation, dependents by Cosmos query unless told", () => {
    const [source] = load([ORDERS]).sources;
    expect(source!.relations).toEqual([
      { name: "customer", container: "customers", foreignKey: "customerId", dependents: { via: "query" } },
    ]);
  });

  it("refuses, with the path named, what cannot work", () => {
    const withRelation = (relation: Record<string, unknown>, extra: Record<string, unknown> = {}) => [
      { ...ORDERS, relations: [{ ...ORDERS.relations[0], ...relation }], ...extra },
    ];
    expect(configError(withRelation({ dependents: { via: "index" } }))).toMatch(
      /DRIFTLESS_SOURCES\[0\]\.relations\[0\]\.dependents\.field/,
    );
    expect(configError(withRelation({ dependents: { via: "search" } }))).toMatch(/relations\[0\]\.dependents/);
    expect(configError(withRelation({ container: "orders" }))).toMatch(
      /relations\[0\]\.container: a relation names another container than the source's own/,
    );
    expect(configError(withRelation({ foreignKey: "customer..id" }))).toMatch(/relations\[0\]\.foreignKey/);
    expect(configError(withRelation({ name: "my customer" }))).toMatch(/relations\[0\]\.name/);
    expect(configError(withRelation({ partitionKey: "/x" }))).toMatch(/relations\[0\]/);
    expect(configError(withRelation({}, { transform: undefined }))).toMatch(
      /relations: relations are read by a transform module: give transform\.module too/,
    );
    expect(
      configError([{ ...ORDERS, relations: [ORDERS.relations[0], { ...ORDERS.relations[0], container: "other" }] }]),
    ).toMatch(/relations\[1\]\.name: duplicate relation "customer"/);
  });

  it("one capture per related container, whichever sources name it", () => {
    const returns = { ...ORDERS, name: "returns", container: "returns", index: "returns" };
    const other = { ...ORDERS, name: "invoices", database: "billing", container: "invoices", index: "invoices" };
    const containers = relatedContainers(load([ORDERS, returns, other]).sources);
    expect(containers.map((c) => [c.database, c.container, c.relations.map((r) => r.source.name)])).toEqual([
      ["shop", "customers", ["orders", "returns"]],
      ["billing", "customers", ["invoices"]],
    ]);
    expect(relationCaptureName(containers[0]!)).not.toBe(relationCaptureName(containers[1]!));
    // Never a source's name (lowercase letters, digits, - and _): their capture keys stay apart.
    expect(relationCaptureName(containers[0]!)).not.toMatch(/^[a-z0-9][a-z0-9_-]*$/);
  });
});

describe("relations: the transform's related documents", () => {
  const [source] = load([{ ...ORDERS, relations: [{ ...ORDERS.relations[0], foreignKey: "refs.customer" }] }]).sources;
  const order = (i: number, customer: unknown) => ({ id: `o${i}`, tenant: "t", refs: { customer }, _ts: 10 });

  it("reads every relation once per batch, for the distinct foreign keys (numbers as ids too)", async () => {
    const calls: [string, string[]][] = [];
    const related = await loadRelated(
      source!,
      [order(1, "c1"), order(2, "c2"), order(3, "c1"), order(4, 7), order(5, undefined), null],
      {
        async readByIds(container, ids) {
          calls.push([container, [...ids]]);
          return ids.filter((id) => id !== "c2").map((id) => ({ id, name: `name of ${id}` }));
        },
      },
    );
    expect(calls).toEqual([["customers", ["c1", "c2", "7"]]]);
    expect(related.get("customer", "c1")).toEqual({ id: "c1", name: "name of c1" });
    expect(related.get("customer", "c2")).toBeUndefined();
  });

  it("hands the transform its document's related document, or undefined", async () => {
    const mapper = createMapper(source!);
    const related = await loadRelated(source!, [order(1, "c1")], {
      readByIds: async (_container, ids) => ids.map((id) => ({ id, name: "Ada" })),
    });
    const mapped = (doc: Record<string, unknown>) => mapper({ id: doc.id as string, pk: "t" }, doc, 0, related);
    expect(mapped(order(1, "c1"))).toMatchObject({ document: { customer: { id: "c1", name: "Ada" } } });
    // Without the batch's documents (or a customer that is gone): none, as the fixture decides.
    const alone = mapper({ id: "o1", pk: "t" }, order(1, "c1"), 0);
    expect(alone.action === "index" && alone.document.customer).toEqual({ id: undefined });
    expect(foreignKeyOf({ foreignKey: "refs.customer" }, order(1, ""))).toBeUndefined();
  });

  it("a transform asking for a relation the source does not have fails as a transform failure", () => {
    const [plain] = load([{ ...ORDERS, relations: [{ ...ORDERS.relations[0], name: "client" }] }]).sources;
    expect(() => createMapper(plain!)({ id: "o1", pk: "t" }, order(1, "c1"), 0)).toThrow(TransformError);
    expect(() => createMapper(plain!)({ id: "o1", pk: "t" }, order(1, "c1"), 0)).toThrow(
      'the source has no relation "customer"',
    );
  });
});

describe("relations: the ids of changed related documents", () => {
  it("from documents, all-versions records, and deletes that carry only metadata", () => {
    expect(
      changedIds([
        { id: "a", name: "x" },
        { current: { id: "b" }, metadata: { operationType: "replace" } },
        { previous: { id: "c" }, metadata: { operationType: "delete", id: "c" } },
        { metadata: { operationType: "delete", id: "d", partitionKey: { id: "d" } } },
        { id: "a" },
        "noise",
      ]),
    ).toEqual(["a", "b", "c", "d"]);
  });
});
