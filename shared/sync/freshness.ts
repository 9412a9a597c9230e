import type { RecordedVersion } from "./ports.js";

/**
 * Whether a Cosmos read shows at least the change capture saw for its key.
 *
 * Under Session consistency (what infra/ deploys) a read from outside the writer's session may be
 * served by a replica that has not applied the latest write yet: it returns the previous version,
 * or 404 for a document just created (https://learn.microsoft.com/azure/cosmos-db/consistency-levels).
 * Writing that read and acking the key would leave the index stale for good. Capture records the
 * version of every change it sees (recordVersions-1.lua): the document's `_ts`, or a delete's
 * `crts`. A point read carries `_ts` and `_etag`, not the change feed's `_lsn`, so `_ts` orders
 * versions, and within one second the `_etag` tells the recorded version from another one.
 *
 * A read is `stale` when it is older than the record: a document with a smaller `_ts`, one of the
 * same second with another `_etag`, or a 404 while the record is not a delete. A same-second read
 * with another `_etag` may also be newer than the record; capture then records that newer version
 * (every latest version reaches the change feed), and the next read matches it. Stale reads are read again shortly, without spending an
 * attempt. After `graceMs` the read is believed: replica lag is seconds at most, and in
 * latest-version mode a document deleted after its last update reads 404 with a record that
 * never becomes a delete.
 */
export function isStaleRead(
  record: RecordedVersion | undefined,
  document: Record<string, unknown> | null,
  now: number,
  graceMs: number,
): boolean {
  if (!record || now - record.recordedAt > graceMs) return false;
  if (document === null) return !record.deleted;
  if (typeof document._ts !== "number") return false;
  if (document._ts < record.version) return true;
  return document._ts === record.version && record.etag !== undefined && document._etag !== record.etag;
}

/**
 * The external version of a delete: the Cosmos time of the delete when capture saw it (`crts`),
 * so a worker whose clock runs behind Cosmos still deletes past the last indexed `_ts`; the time of
 * the read otherwise (a key from the producer route, or a latest-version key whose delete no
 * feed reported), which is after every version that existed before it.
 */
export function deleteVersion(record: RecordedVersion | undefined, readAtSeconds: number): number {
  return record?.deleted ? record.version : readAtSeconds;
}
