import { describe, expect, it } from "vitest";
import type { RecordedVersion } from "../../shared/sync/ports.js";
import { deleteVersion, isStaleRead } from "../../shared/sync/freshness.js";

const record = (version: number, deleted: boolean, recordedAt = 1_000_000, etag?: string): RecordedVersion => ({
  version,
  deleted,
  recordedAt,
  raw: `${version}:${deleted ? 1 : 0}:${recordedAt}:${etag ?? ""}`,
  ...(etag ? { etag } : {}),
});

describe("freshness of a Cosmos read against the change capture saw", () => {
  const now = 1_000_500;
  const grace = 30_000;

  it("takes a read older than the recorded change as stale: an older _ts, or 404 for a created document", () => {
    expect(isStaleRead(record(200, false), { _ts: 199 }, now, grace)).toBe(true);
    expect(isStaleRead(record(200, false), null, now, grace)).toBe(true);
    expect(isStaleRead(record(200, true), { _ts: 150 }, now, grace)).toBe(true);
  });

  it("takes a read at least as new as the record as current, and every read without a record", () => {
    expect(isStaleRead(record(200, false), { _ts: 200 }, now, grace)).toBe(false);
    expect(isStaleRead(record(200, false), { _ts: 260 }, now, grace)).toBe(false);
    expect(isStaleRead(record(200, true), null, now, grace)).toBe(false);
    // Recreated after its delete.
    expect(isStaleRead(record(200, true), { _ts: 201 }, now, grace)).toBe(false);
    expect(isStaleRead(undefined, null, now, grace)).toBe(false);
  });

  it("tells two versions of the same second apart by their _etag", () => {
    expect(isStaleRead(record(200, false, 1_000_000, "e2"), { _ts: 200, _etag: "e1" }, now, grace)).toBe(true);
    expect(isStaleRead(record(200, false, 1_000_000, "e2"), { _ts: 200, _etag: "e2" }, now, grace)).toBe(false);
    expect(isStaleRead(record(200, false, 1_000_000, "e2"), { _ts: 201, _etag: "e3" }, now, grace)).toBe(false);
  });

  it("believes any read once the grace has passed", () => {
    expect(isStaleRead(record(200, false, now - grace - 1), null, now, grace)).toBe(false);
    expect(isStaleRead(record(200, false, now - grace), null, now, grace)).toBe(true);
  });

  it("deletes at the delete's Cosmos time when capture saw it, else at the time of the read", () => {
    expect(deleteVersion(record(300, true), 250)).toBe(300);
    expect(deleteVersion(record(300, false), 350)).toBe(350);
    expect(deleteVersion(undefined, 350)).toBe(350);
  });
});
