import { createServer, type Server, type Socket } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriftlessError } from "../../shared/core/errors.js";
import {
  createBulkSink,
  createElasticClient,
  createIndexVersion,
  ensureIndex,
  IndexMissingError,
  type Client,
} from "../../shared/elastic/index.js";
import { itemFailureScope } from "../../shared/resilience/classify.js";
import type { ItemOutcome, Sink, SinkOp } from "../../shared/sync/ports.js";
import { services, uniqueName } from "../setup/services.js";

const mapping = { properties: { title: { type: "keyword" }, n: { type: "integer" } } };
// A short refresh interval keeps `refresh: wait_for` quick.
const settings = { number_of_replicas: 0, refresh_interval: "100ms" };

let client: Client;
let sink: Sink;
let alias: string;

const put = (id: string, version: number, document: Record<string, unknown>): SinkOp => ({
  action: "index",
  member: JSON.stringify([id, "pk"]),
  id,
  version,
  document,
});
const del = (id: string, version: number): SinkOp => ({
  action: "delete",
  member: JSON.stringify([id, "pk"]),
  id,
  version,
});

async function source(id: string): Promise<{ version: number; doc: Record<string, unknown> } | undefined> {
  const result = await client.get<Record<string, unknown>>({ index: alias, id }, { ignore: [404] });
  return result.found ? { version: result._version!, doc: result._source! } : undefined;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  client = createElasticClient({ node: services().elasticsearchUrl });
  sink = createBulkSink(client, { refresh: "wait_for" });
});

afterAll(async () => {
  await client.close();
});

describe("bulk sink against Elasticsearch", () => {
  beforeAll(async () => {
    alias = uniqueName("es-sink");
    await ensureIndex(client, { alias, mapping, settings });
  });

  afterAll(async () => {
    const indices = Object.keys(await client.indices.get({ index: `${alias}*` }));
    if (indices.length) await client.indices.delete({ index: indices });
  });

  it("writes nothing and sends nothing for an empty batch", async () => {
    const requests: string[] = [];
    const record = (_error: unknown, event: { meta: { request: { params: { path: string } } } } | null) =>
      void requests.push(event?.meta.request.params.path ?? "?");
    client.diagnostic.on("request", record);
    try {
      expect(await sink.write(alias, [])).toEqual([]);
    } finally {
      client.diagnostic.off("request", record);
    }
    expect(requests).toEqual([]);
    // The recorder sees what the client does send.
    client.diagnostic.on("request", record);
    try {
      await client.cluster.health();
    } finally {
      client.diagnostic.off("request", record);
    }
    expect(requests).toEqual(["/_cluster/health"]);
  });

  it("indexes with the external version and stamps driftless.key and driftless.ts", async () => {
    const op = put("stamp", 1700000000, { title: "hello", n: 1 });
    expect(await sink.write(alias, [op])).toEqual([{ member: op.member, outcome: "ok" }]);

    expect(await source("stamp")).toEqual({
      version: 1700000000,
      doc: { driftless: { key: op.member, ts: 1700000000 }, title: "hello", n: 1 },
    });
    // The key is a keyword: reconcile can find the Cosmos key of any hit.
    const hits = await client.search({ index: alias, query: { term: { "driftless.key": op.member } } });
    expect(hits.hits.hits.map((h) => h._id)).toEqual(["stamp"]);
  });

  it("lets a newer version overwrite, and the same version rewrite (external_gte)", async () => {
    await sink.write(alias, [put("newer", 10, { title: "v10" })]);
    expect(await sink.write(alias, [put("newer", 11, { title: "v11" })])).toMatchObject([{ outcome: "ok" }]);
    expect(await source("newer")).toMatchObject({ version: 11, doc: { title: "v11" } });

    expect(await sink.write(alias, [put("newer", 11, { title: "v11 again" })])).toMatchObject([{ outcome: "ok" }]);
    expect(await source("newer")).toMatchObject({ version: 11, doc: { title: "v11 again" } });
  });

  it("counts an older version as ok and keeps the newer document", async () => {
    await sink.write(alias, [put("older", 5, { title: "v5" })]);
    const outcomes = await sink.write(alias, [put("older", 3, { title: "v3" })]);

    expect(outcomes).toEqual([{ member: JSON.stringify(["older", "pk"]), outcome: "ok" }]);
    expect(await source("older")).toMatchObject({ version: 5, doc: { title: "v5" } });
  });

  it("deletes with a version; an older delete is ok and leaves the newer document", async () => {
    await sink.write(alias, [put("gone", 5, { title: "v5" }), put("kept", 5, { title: "v5" })]);
    const outcomes = await sink.write(alias, [del("gone", 6), del("kept", 4)]);

    expect(outcomes.map((o) => o.outcome)).toEqual(["ok", "ok"]);
    expect(await source("gone")).toBeUndefined();
    expect(await source("kept")).toMatchObject({ version: 5 });
  });

  it("treats a delete of a document that was never indexed as ok, and its tombstone stops an older write", async () => {
    expect(await sink.write(alias, [del("never", 7)])).toMatchObject([{ outcome: "ok" }]);
    expect(await sink.write(alias, [put("never", 6, { title: "stale" })])).toMatchObject([{ outcome: "ok" }]);
    expect(await source("never")).toBeUndefined();
  });

  it("dead-letters a real mapping conflict with Elasticsearch's reason", async () => {
    const [outcome] = await sink.write(alias, [put("bad", 1, { n: "not a number" })]);

    expect(outcome).toEqual({
      member: JSON.stringify(["bad", "pk"]),
      outcome: "dead",
      error: expect.stringMatching(
        /^document_parsing_exception: .*failed to parse field \[n\] of type \[integer\].*\(caused by number_format_exception: /,
      ),
    });
    expect(await source("bad")).toBeUndefined();
  });

  it("does not let one bad document fail the others in a mixed batch", async () => {
    await sink.write(alias, [put("m-conflict", 9, { title: "v9" }), put("m-del", 1, { title: "x" })]);
    const ops = [
      put("m-good-1", 1, { title: "one", n: 1 }),
      put("m-bad", 1, { n: "abc" }),
      put("m-conflict", 8, { title: "v8" }),
      del("m-del", 2),
      del("m-missing", 2),
      put("m-reserved", 1, { driftless: "mine" }),
      put("x".repeat(600), 1, { title: "long id" }),
      put("m-good-2", 1, { title: "two", n: 2 }),
    ];
    const outcomes = await sink.write(alias, ops);

    expect(outcomes.map((o) => o.member)).toEqual(ops.map((op) => op.member));
    expect(outcomes.map((o) => o.outcome)).toEqual(["ok", "dead", "ok", "ok", "ok", "dead", "dead", "ok"]);
    expect(errorOf(outcomes[1])).toMatch(/^document_parsing_exception/);
    expect(errorOf(outcomes[5])).toContain('field "driftless"');
    expect(errorOf(outcomes[6])).toContain("invalid _id");
    expect(await source("m-good-1")).toMatchObject({ doc: { title: "one" } });
    expect(await source("m-good-2")).toMatchObject({ doc: { title: "two" } });
    expect(await source("m-conflict")).toMatchObject({ version: 9 });
    expect(await source("m-del")).toBeUndefined();
  });

  it("refuses every top-level field in the driftless namespace, dotted forms included, so no document can forge its metadata", async () => {
    const forged = JSON.stringify(["someone-else", "pk"]);
    const ops = [
      put("ns-key", 5, { title: "a", "driftless.key": forged }),
      put("ns-ts", 5, { title: "b", "driftless.ts": 99999999999 }),
      put("ns-deep", 5, { title: "c", "driftless.x.y": 1 }),
      put("ns-fine", 5, { title: "d", driftlessly: 1, nested: { "driftless.key": "inside another object is fine" } }),
    ];
    const outcomes = await sink.write(alias, ops);

    expect(outcomes.map((o) => o.outcome)).toEqual(["dead", "dead", "dead", "ok"]);
    expect(errorOf(outcomes[0])).toContain('field "driftless.key"');
    expect(errorOf(outcomes[1])).toContain('field "driftless.ts"');
    expect(errorOf(outcomes[2])).toContain('field "driftless.x.y"');
    for (const id of ["ns-key", "ns-ts", "ns-deep"]) expect(await source(id)).toBeUndefined();
    expect(await source("ns-fine")).toMatchObject({
      doc: { driftless: { key: ops[3]!.member, ts: 5 }, driftlessly: 1 },
    });
    const forgedHits = await client.search({ index: alias, query: { term: { "driftless.key": forged } } });
    expect(forgedHits.hits.hits).toEqual([]);
  });

  it("writes into a concrete index version when requireAlias is off (the rebuild path)", async () => {
    const version = await createIndexVersion(client, { alias, mapping, settings });
    const rebuild = createBulkSink(client, { refresh: "wait_for", requireAlias: false });
    const outcomes = await rebuild.write(version, [put("r1", 3, { title: "rebuilt" }), put("r2", 3, { n: "bad" })]);

    expect(outcomes.map((o) => o.outcome)).toEqual(["ok", "dead"]);
    const doc = await client.get<Record<string, unknown>>({ index: version, id: "r1" });
    expect(doc._source).toEqual({ driftless: { key: JSON.stringify(["r1", "pk"]), ts: 3 }, title: "rebuilt" });
    expect(await source("r1")).toBeUndefined();
  });

  it("keeps every error to a bounded length", async () => {
    const [outcome] = await sink.write(alias, [put("long-reason", 1, { n: "9".repeat(2000) })]);
    expect(outcome?.outcome).toBe("dead");
    expect(errorOf(outcome).length).toBeLessThanOrEqual(500);
  });
});

describe("bulk sink when the alias or the cluster is not there", () => {
  it("throws IndexMissingError for a missing alias and never auto-creates an index", async () => {
    const missing = uniqueName("es-sink-missing");
    const error = await sink.write(missing, [put("a", 1, { title: "x" }), del("b", 1)]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(IndexMissingError);
    expect((error as IndexMissingError).code).toBe("elastic_index_missing");
    expect(await client.indices.exists({ index: missing })).toBe(false);
  });

  it("a shared id's delete whose entry sits on a shard not yet assigned is a failure of the cluster, not of the key", async () => {
    // As while a node starts: the index and its alias exist, its primary shard is not assigned yet.
    const unassigned = uniqueName("es-sink-unassigned");
    await client.indices.create({
      index: `${unassigned}-v1`,
      aliases: { [unassigned]: { is_write_index: true } },
      settings: { number_of_replicas: 0, "index.routing.allocation.require._name": "no-such-node" },
      wait_for_active_shards: 0,
    });
    try {
      const shared: SinkOp = { ...del("gone", 2), sharedId: true };
      const [outcome] = await sink.write(unassigned, [shared]);
      expect(outcome).toMatchObject({ outcome: "retry", error: expect.stringContaining("no_shard_available") });
      // The guard pauses for it, and no attempt is spent, as for a bulk request refused for the cluster's state.
      expect(itemFailureScope(outcome!)).toBe("unavailable");
    } finally {
      await client.indices.delete({ index: `${unassigned}-v1` });
    }
  });

  it("returns retry for every item, without throwing, when Elasticsearch is unreachable", async () => {
    const port = await closedPort();
    const down = createElasticClient({ node: `http://127.0.0.1:${port}`, requestTimeoutMs: 2000 });
    try {
      const ops = [put("a", 1, { title: "x" }), del("b", 1), put("c", 1, { title: "y" })];
      const outcomes = await createBulkSink(down).write("anything", ops);

      expect(outcomes).toHaveLength(3);
      for (const [i, outcome] of outcomes.entries()) {
        expect(outcome).toEqual({
          member: ops[i]!.member,
          outcome: "retry",
          error: expect.stringContaining("ECONNREFUSED"),
        });
      }
    } finally {
      await down.close();
    }
  });

  it("resends a request whose connection dropped itself, asking the guard before each send; a guard's refusal sends nothing", async () => {
    // Drops the first connection without an answer (a keep-alive socket the server closed), then answers.
    let requests = 0;
    const server: Server = createServer((socket) => {
      socket.once("data", () => {
        requests++;
        if (requests === 1) {
          socket.destroy();
          return;
        }
        const body = JSON.stringify({ errors: false, items: [{ index: { status: 201 } }] });
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-elastic-product: Elasticsearch\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const flaky = createElasticClient({ node: `http://127.0.0.1:${port}`, requestTimeoutMs: 2000 });
    try {
      let asked = 0;
      const outcomes = await createBulkSink(flaky, { requireAlias: false }).write(
        "anything",
        [put("a", 1, { title: "x" })],
        {
          beforeRequest: async () => void asked++,
        },
      );
      expect(outcomes).toEqual([{ member: put("a", 1, {}).member, outcome: "ok" }]);
      expect({ requests, asked }).toEqual({ requests: 2, asked: 2 });

      const refusal = new Error("lease lost");
      const error = await createBulkSink(flaky, { requireAlias: false })
        .write("anything", [put("b", 1, { title: "y" })], {
          beforeRequest: async () => {
            throw refusal;
          },
        })
        .catch((e: unknown) => e);
      expect(error).toBe(refusal);
      expect(requests).toBe(2);
    } finally {
      await flaky.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("returns retry for every item when a request times out", async () => {
    // Accepts connections and never answers: a hung node or a black-holed network path.
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const hung = createElasticClient({ node: `http://127.0.0.1:${port}`, requestTimeoutMs: 300, maxRetries: 0 });
    try {
      const outcomes = await createBulkSink(hung).write("anything", [put("a", 1, {}), del("b", 1)]);
      expect(outcomes.map((o) => o.outcome)).toEqual(["retry", "retry"]);
      expect(errorOf(outcomes[0])).toContain("TimeoutError");
    } finally {
      await hung.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("never puts credentials into outcomes or thrown errors", async () => {
    const port = await closedPort();
    const secrets = ["s3cr3t-api-key", "s3cr3t-password"];
    const withKey = createElasticClient({ node: `http://127.0.0.1:${port}`, apiKey: secrets[0], maxRetries: 0 });
    const withUrlAuth = createElasticClient({ node: `http://elastic:${secrets[1]}@127.0.0.1:${port}`, maxRetries: 0 });
    try {
      for (const down of [withKey, withUrlAuth]) {
        const outcomes = await createBulkSink(down).write("anything", [put("a", 1, {})]);
        expect(outcomes[0]?.outcome).toBe("retry");
        const thrown = await down.cluster.health().catch((e: unknown) => e);
        for (const text of [JSON.stringify(outcomes), inspect(outcomes, { depth: 10 })]) {
          for (const secret of secrets) expect(text).not.toContain(secret);
        }
        // The client's own error is redacted too, in case someone logs it whole.
        for (const secret of secrets) expect(inspect(thrown, { depth: 20 })).not.toContain(secret);
      }
      const invalid = await Promise.resolve()
        .then(() => createElasticClient({ node: `http//elastic:${secrets[1]}@host` }))
        .catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(DriftlessError);
      expect(inspect(invalid, { depth: 10 })).not.toContain(secrets[1]);
    } finally {
      await Promise.all([withKey.close(), withUrlAuth.close()]);
    }
  });
});

function errorOf(outcome: ItemOutcome | undefined): string {
  return outcome && "error" in outcome ? outcome.error : "";
}
