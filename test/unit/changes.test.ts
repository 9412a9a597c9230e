import { describe, expect, it } from "vitest";
import { keysFromChanges } from "../../shared/capture/changes.js";
import { decodeKey } from "../../shared/core/keys.js";

describe("keysFromChanges", () => {
  const source = { partitionKeyPaths: ["/tenant"] };

  it("reads keys from latest-version documents; a missing partition key is the None value, not null", () => {
    expect(keysFromChanges(source, [{ id: "a", tenant: "t1", x: 1 }, { id: "b" }, { id: "c", tenant: null }])).toEqual({
      keys: [
        { id: "a", pk: "t1" },
        { id: "b", pk: {} },
        { id: "c", pk: null },
      ],
      versions: [undefined, undefined, undefined],
      skipped: 0,
      invalid: [],
    });
  });

  it("reads keys from all-versions-and-deletes records, deletes included", () => {
    const changes = [
      { current: { id: "a", tenant: "t1" }, metadata: { operationType: "create" } },
      { current: {}, previous: { id: "b", tenant: "t2" }, metadata: { operationType: "delete" } },
      // The service names the partition key property, not its path.
      { metadata: { operationType: "delete", id: "c", partitionKey: { tenant: "t3" }, timeToLiveExpired: true } },
      { metadata: { operationType: "delete", id: "d", partitionKey: { tenant: null } } },
      { metadata: { operationType: "delete", id: "e", partitionKey: {} } },
    ];
    expect(keysFromChanges(source, changes).keys).toEqual([
      { id: "a", pk: "t1" },
      { id: "b", pk: "t2" },
      { id: "c", pk: "t3" },
      { id: "d", pk: null },
      { id: "e", pk: {} },
    ]);
  });

  it("reads every level of a hierarchical delete by property name", () => {
    const hierarchical = { partitionKeyPaths: ["/tenant", "/region/code"] };
    const deleted = { metadata: { operationType: "delete", id: "x", partitionKey: { tenant: "t", code: "eu" } } };
    expect(keysFromChanges(hierarchical, [deleted]).keys).toEqual([{ id: "x", pk: ["t", "eu"] }]);
  });

  it("gives each change its Cosmos version: a document's _ts, a delete's crts", () => {
    const changes = [
      { id: "a", tenant: "t", _ts: 100, _etag: '"e1"' },
      { current: { id: "b", tenant: "t", _ts: 101 }, metadata: { operationType: "replace", lsn: 7, crts: 101 } },
      { metadata: { operationType: "delete", id: "c", partitionKey: { tenant: "t" }, lsn: 8, crts: 102 } },
    ];
    expect(keysFromChanges(source, changes).versions).toEqual([
      { version: 100, deleted: false, etag: '"e1"' },
      { version: 101, deleted: false },
      { version: 102, deleted: true },
    ]);
  });

  it("reads hierarchical partition keys, and counts records without a key", () => {
    const nested = { partitionKeyPaths: ["/a", "/b/c"] };
    expect(keysFromChanges(nested, [{ id: "x", a: 1, b: { c: "z" } }, "garbage", null, { id: 5 }])).toEqual({
      keys: [{ id: "x", pk: [1, "z"] }],
      versions: [undefined],
      skipped: 3,
      invalid: [],
    });
  });

  it("gives a document whose partition key is an object or an array an invalid key with the reason, to dead-letter", () => {
    const nested = { partitionKeyPaths: ["/a", "/b/c"] };
    const changes = [
      { id: "x", tenant: { region: "eu" } },
      { current: { id: "y", tenant: ["a", "b"] }, metadata: { operationType: "create" } },
      { id: "z", tenant: "ok" },
    ];
    const { keys, invalid } = keysFromChanges(source, changes);
    expect(keys).toEqual([{ id: "z", pk: "ok" }]);
    expect(invalid).toEqual([
      {
        member: '["x",{"invalid":"partition key at /tenant is an object"}]',
        reason: "partition key at /tenant is an object",
        error: expect.stringContaining("capture cannot enqueue"),
      },
      {
        member: '["y",{"invalid":"partition key at /tenant is an array"}]',
        reason: "partition key at /tenant is an array",
        error: expect.any(String),
      },
    ]);
    // Every level is kept, the bad one marked, so the key decodes as it was listed.
    expect(
      keysFromChanges(nested, [{ id: "h", a: 1, b: { c: { x: 1 } } }]).invalid.map((failure) =>
        decodeKey(failure.member),
      ),
    ).toEqual([{ id: "h", pk: [1, { invalid: "partition key at /b/c is an object" }] }]);
  });
});
