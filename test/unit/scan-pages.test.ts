import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { encodeKey } from "../../shared/core/keys.js";
import { preparePage, ReadAhead, type PreparedPage } from "../../shared/jobs/scan-pages.js";
import { serializedDocument } from "../../shared/elastic/serialize.js";
import { collectGarbage } from "../setup/collect-garbage.js";

const source = loadConfig({
  REDIS_URL: "redis://x",
  ELASTICSEARCH_URL: "http://x",
  COSMOS_ENDPOINT: "https://x",
  COSMOS_KEY: "k",
  DRIFTLESS_SOURCES: JSON.stringify({ name: "s", database: "d", container: "c", partitionKeyPath: "/t", index: "s" }),
}).sources[0]!;

const docs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `d${i}`,
    t: `t${i % 2}`,
    title: "x".repeat(100),
    _ts: 1_700_000_000 + i,
  }));

describe("preparePage", () => {
  it("keys and maps every document and splits the page into as many requests as are sent at once", () => {
    const page = preparePage(source, { documents: docs(5), continuation: "c2" }, 1_800_000_000_000, {
      batchMaxBytes: 1_000_000,
      bulkConcurrency: 2,
    });
    expect(page.continuation).toBe("c2");
    expect(page.scanned).toBe(5);
    expect(page.requests.map((request) => request.map((op) => op.id))).toEqual([
      ["d0", "d1", "d2"],
      ["d3", "d4"],
    ]);
    const first = page.requests[0]![0]!;
    expect(first).toMatchObject({
      action: "index",
      id: "d0",
      version: 1_700_000_000,
      member: encodeKey({ id: "d0", pk: "t0" }),
    });
    expect([...page.keys.values()]).toHaveLength(5);
    expect(page.keys.get(encodeKey({ id: "d3", pk: "t1" }))).toEqual({ id: "d3", pk: "t1" });
    expect(page.unkeyed).toEqual([]);
    expect(page.unmapped).toEqual([]);
  });

  it("holds the page's documents as their JSON text, not their objects, while it waits to be written", async () => {
    const documents = docs(4).map((document, i) => ({ ...document, detail: { tags: [`tag${i}`] } }));
    const details = documents.map((document) => new WeakRef(document.detail));
    // What the mapper keeps: the Cosmos system fields (_ts here) go.
    const texts = documents.map(({ _ts, ...rest }) => JSON.stringify(rest));
    const page = preparePage(source, { documents: documents.splice(0), continuation: undefined }, 0, {
      batchMaxBytes: 1_000_000,
      bulkConcurrency: 1,
    });
    await collectGarbage();
    expect(details.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    const sent = page.requests
      .flat()
      .map((op) => (op.action === "index" ? serializedDocument(op.document) : undefined));
    expect(sent.map((text) => JSON.parse(text!))).toEqual(texts.map((text) => JSON.parse(text)));
  });

  it("keeps every request within the byte limit, a smaller request where the documents are large", () => {
    // Each document is about 120 bytes of action line and 160 of JSON: two fit in 600 bytes.
    const page = preparePage(source, { documents: docs(5), continuation: undefined }, 0, {
      batchMaxBytes: 600,
      bulkConcurrency: 1,
    });
    expect(page.requests.map((request) => request.length)).toEqual([2, 2, 1]);
    expect(page.requests.flat().map((op) => op.id)).toEqual(["d0", "d1", "d2", "d3", "d4"]);
  });

  it("skips a document without a usable key and says why, counting it as scanned", () => {
    const documents = [...docs(2), { t: "t9", title: "no id" }, { id: 42, t: "t9" }, { id: "obj", t: { a: 1 } }];
    const page = preparePage(source, { documents, continuation: undefined }, 0, {
      batchMaxBytes: 1_000_000,
      bulkConcurrency: 4,
    });
    expect(page.scanned).toBe(5);
    expect(page.requests.flat().map((op) => op.id)).toEqual(["d0", "d1"]);
    expect(page.unkeyed).toEqual(["document without a string id", "document without a string id"]);
    // A partition key that is an object is a dead letter with its reason, not a silent skip.
    expect(page.rejected).toEqual([expect.objectContaining({ reason: "partition key at /t is an object" })]);
    expect(page.keys.size).toBe(2);
  });
});

describe("ReadAhead", () => {
  const prepared = (continuation: string): PreparedPage => ({
    continuation,
    scanned: 0,
    requests: [],
    keys: new Map(),
    unmapped: [],
    unkeyed: [],
    rejected: [],
    readAt: 0,
  });

  it("hands over the page read ahead for the position the job resumes from, and reads otherwise", async () => {
    const ahead = new ReadAhead();
    let reads = 0;
    const read = (continuation: string) => async () => {
      reads++;
      return prepared(continuation);
    };
    ahead.put("job", "p2", read("after-p2"));
    expect(reads).toBe(1);
    expect((await ahead.take("job", "p2", read("fresh"))).continuation).toBe("after-p2");
    expect(reads).toBe(1);
    // Taken once only: the same position again is read anew.
    expect((await ahead.take("job", "p2", read("fresh"))).continuation).toBe("fresh");
    // A page read ahead for another position (the job resumed elsewhere) is never used.
    ahead.put("job", "p3", read("after-p3"));
    expect((await ahead.take("job", "p4", read("after-p4"))).continuation).toBe("after-p4");
    // Nor is one of another job.
    ahead.put("other", "p5", read("other-p5"));
    expect((await ahead.take("job", "p5", read("job-p5"))).continuation).toBe("job-p5");
  });

  it("reads again when the read ahead failed, so a failure ahead fails nothing by itself", async () => {
    const ahead = new ReadAhead();
    ahead.put("job", "p2", () => Promise.reject(new Error("cosmos unreachable")));
    expect((await ahead.take("job", "p2", async () => prepared("read-again"))).continuation).toBe("read-again");
  });
});
