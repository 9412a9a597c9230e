/**
 * The fields driftless adds to every document it writes, under one object so they never collide
 * with source fields. `key` is the encoded queue member (partition key + id), which lets the
 * reconcile job go from an Elasticsearch hit back to the Cosmos document; `ts` is the external
 * version (the document's `_ts`, seconds) the write carried; `source` names the source where
 * several share the index.
 */
export const DRIFTLESS_METADATA = {
  field: "driftless",
  keyField: "driftless.key",
  tsField: "driftless.ts",
  /** The source that wrote the entry; stamped only in an index several sources share (source `sharedIndex`). */
  sourceField: "driftless.source",
  mapping: {
    properties: {
      key: { type: "keyword" },
      ts: { type: "long" },
      source: { type: "keyword" },
    },
  },
} as const;

/**
 * The first top-level field of `document` in driftless's namespace: `driftless` itself, or a
 * dotted name such as `driftless.key` that Elasticsearch expands into the same object and would
 * merge into the metadata reconcile trusts. Undefined when there is none.
 */
export function reservedFieldOf(document: object): string | undefined {
  const prefix = `${DRIFTLESS_METADATA.field}.`;
  for (const field in document) {
    if (!Object.hasOwn(document, field)) continue;
    if (field === DRIFTLESS_METADATA.field || field.startsWith(prefix)) return field;
  }
  return undefined;
}
