import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKey } from "../../shared/core/keys.js";
import { createBulkSink, ensureIndex } from "../../shared/elastic/index.js";
import type { SinkOp } from "../../shared/sync/ports.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

/**
 * Why the reimport scan writes with `version_type=external`: a live write and a scan copy of the
 * same document can carry the same `_ts` (two changes within one second). The live write comes
 * from the queue, which orders writes of one key; the scan is outside that order and must never
 * replace what is there at an equal version.
 */
describe("scan writes against live writes of the same second", () => {
  let source: TestSource;
  let alias: string;

  beforeAll(async () => {
    source = await createTestSource();
    alias = source.config.sources[0]!.index;
    await ensureIndex(source.elastic, { alias, mapping: source.config.sources[0]!.mapping });
  });

  afterAll(async () => {
    await source?.dispose();
  });

  const op = (title: string, version: number): SinkOp => ({
    action: "index",
    member: encodeKey({ id: "same-second", pk: "t" }),
    id: "same-second",
    version,
    document: { id: "same-second", tenant: "t", title, n: 1 },
  });

  it("the scan's copy at an equal version is a conflict that counts as success, and the live write stays", async () => {
    const live = createBulkSink(source.elastic, { refresh: "wait_for" });
    const scan = createBulkSink(source.elastic, { refresh: "wait_for", versionType: "external" });
    expect(await live.write(alias, [op("live", 1_700_000_000)])).toEqual([{ member: op("", 0).member, outcome: "ok" }]);
    expect(await scan.write(alias, [op("older scan copy", 1_700_000_000)])).toEqual([
      { member: op("", 0).member, outcome: "ok" },
    ]);
    expect((await source.indexed()).get("same-second")?.source.title).toBe("live");

    // The live path (external_gte) would have replaced it: the reason the scan does not use it.
    await live.write(alias, [op("replaced at an equal version", 1_700_000_000)]);
    expect((await source.indexed()).get("same-second")?.source.title).toBe("replaced at an equal version");
    // And a newer scan copy still wins over an older version.
    await scan.write(alias, [op("newer scan copy", 1_700_000_001)]);
    expect((await source.indexed()).get("same-second")).toMatchObject({
      version: 1_700_000_001,
      source: { title: "newer scan copy" },
    });
  });
});
