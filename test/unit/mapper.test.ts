import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { createMapper } from "../../shared/sync/mapper.js";

function sourceWith(extra: Record<string, unknown>) {
  return loadConfig({
    REDIS_URL: "redis://x",
    ELASTICSEARCH_URL: "http://x",
    COSMOS_ENDPOINT: "https://x",
    COSMOS_KEY: "k",
    DRIFTLESS_SOURCES: JSON.stringify({
      name: "s",
      database: "d",
      container: "c",
      partitionKeyPath: "/t",
      index: "s",
      ...extra,
    }),
  }).sources[0]!;
}

const key = { id: "a1", pk: "t1" };
const cosmosDoc = {
  id: "a1",
  t: "t1",
  title: "x",
  secret: "s",
  _rid: "r",
  _self: "s",
  _etag: "e",
  _attachments: "a",
  _ts: 1700000000,
};

describe("createMapper", () => {
  it("drops Cosmos system fields and versions by _ts", () => {
    const mapped = createMapper(sourceWith({}))(key, cosmosDoc, 1800000000);
    expect(mapped).toEqual({
      action: "index",
      id: "a1",
      version: 1700000000,
      document: { id: "a1", t: "t1", title: "x", secret: "s" },
      sharedId: true,
    });
  });

  it("applies exclude, rename and include", () => {
    const mapper = createMapper(
      sourceWith({ transform: { exclude: ["secret"], rename: { title: "name" }, include: ["name"] } }),
    );
    const mapped = mapper(key, cosmosDoc, 0);
    expect(mapped.action === "index" && mapped.document).toEqual({ id: "a1", name: "x" });
  });

  it("turns a missing document into a delete versioned by the read time", () => {
    expect(createMapper(sourceWith({}))(key, null, 1800000000)).toEqual({
      action: "delete",
      id: "a1",
      version: 1800000000,
      sharedId: true,
    });
  });

  it("turns a soft-deleted document into a delete versioned by its _ts", () => {
    const mapped = createMapper(sourceWith({ softDeleteField: "isDeleted" }))(
      key,
      { ...cosmosDoc, isDeleted: true },
      1800000000,
    );
    expect(mapped).toEqual({ action: "delete", id: "a1", version: 1700000000, sharedId: true });
  });

  it("can key the index by partition key and id", () => {
    const mapped = createMapper(sourceWith({ documentId: "partitionKeyAndId" }))(key, null, 5);
    expect(mapped.id).toBe('"t1":a1');
  });

  it("marks writes sharedId only where two keys can have one _id", () => {
    const byId = (extra: Record<string, unknown>) => createMapper(sourceWith(extra))(key, null, 5);
    expect(byId({})).toMatchObject({ sharedId: true }); // documentId "id", partition key /t: a document can move
    expect(byId({ partitionKeyPath: ["/id", "/t"] })).toMatchObject({ sharedId: true });
    expect(byId({ partitionKeyPath: "/id" })).not.toHaveProperty("sharedId"); // the id is the partition key
    expect(byId({ documentId: "partitionKeyAndId" })).not.toHaveProperty("sharedId");
  });
});
