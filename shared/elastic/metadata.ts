/**
 * The fields driftless adds to every document it writes, under one object so they never collide
 * with source fields. `key` is the encoded queue member (partition key + id), which lets the
 * reconcile job go from an Elasticsearch hit back to the Cosmos document; `ts` is the external
 * version (the document's `_ts`, seconds) the write carried.
 */
export const DRIFTLESS_METADATA = {
  field: "driftless",
  keyField: "driftless.key",
  tsField: "driftless.ts",
  mapping: {
    properties: {
      key: { type: "keyword" },
      ts: { type: "long" },
    },
  },
} as const;
