import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { createMapper, TransformError } from "../../shared/sync/mapper.js";
import { getPath, pick, splitPath, withoutPath, withPath } from "../../shared/sync/paths.js";
import { BASE_ENV, configError as configErrorOf } from "../setup/config-env.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/transforms/", import.meta.url));
// Partition key /id: a source whose _ids are its own (no sharedId flag on the writes).
const SOURCE = { name: "orders", database: "d", container: "c", partitionKeyPath: "/id", index: "orders" };

/** The services' settings alone, for the tests that name a sources file instead. */
const { DRIFTLESS_SOURCES: _sources, ...SERVICES_ENV } = BASE_ENV;
const envWith = (extra: Record<string, unknown>, env: Record<string, string> = {}) => ({
  ...BASE_ENV,
  DRIFTLESS_SOURCES: JSON.stringify({ ...SOURCE, ...extra }),
  ...env,
});
const config = (extra: Record<string, unknown>, env: Record<string, string> = {}) => loadConfig(envWith(extra, env));
const sourceWith = (extra: Record<string, unknown>) => config(extra).sources[0]!;

/** The ConfigError loading `extra` throws, as the one line a person reads. */
const configError = (extra: Record<string, unknown>): string => configErrorOf(envWith(extra)).message;

const key = { id: "o1", pk: "o1" };
const order = {
  id: "o1",
  tenant: "t1",
  title: "desk",
  status: "open",
  lines: [{ sku: "a" }, { sku: "b" }],
  customer: { name: "Ada", secret: "s3", address: { city: "Oslo", zip: "0150" } },
  meta: { audit: { by: "u7" }, visible: true },
  _rid: "r",
  _self: "s",
  _etag: "e",
  _attachments: "a",
  _ts: 1700000000,
};

describe("dotted paths", () => {
  const doc = { a: { b: { c: 1, d: 2 }, e: [{ f: 1 }] }, g: 3 };

  it("reads, removes, sets and picks nested fields without changing the object given", () => {
    const frozen = structuredClone(doc);
    expect(getPath(doc, splitPath("a.b.c"))).toBe(1);
    expect(getPath(doc, splitPath("a.e.f"))).toBeUndefined();
    expect(withoutPath(doc, splitPath("a.b.c"))).toEqual({ a: { b: { d: 2 }, e: [{ f: 1 }] }, g: 3 });
    expect(withoutPath(doc, splitPath("a.x.y"))).toBe(doc);
    expect(withPath(doc, splitPath("a.b.z"), 9)).toEqual({ a: { b: { c: 1, d: 2, z: 9 }, e: [{ f: 1 }] }, g: 3 });
    expect(withPath(doc, splitPath("g.h"), 1)).toEqual({ a: doc.a, g: { h: 1 } });
    expect(pick(doc, [splitPath("a.b.d"), splitPath("g"), splitPath("a.e"), splitPath("nope.x")])).toEqual({
      a: { b: { d: 2 }, e: [{ f: 1 }] },
      g: 3,
    });
    expect(doc).toEqual(frozen);
  });
});

describe("source transforms in the mapper", () => {
  it("runs the module on the document as read (system fields included), then exclude, rename and include with nested paths", () => {
    const mapper = createMapper(
      sourceWith({
        transform: {
          module: join(FIXTURES, "orders.js"),
          exclude: ["customer.secret", "customer.address.zip"],
          rename: { "meta.audit.by": "audit.author", "customer.address.city": "city" },
          include: ["title", "summary", "lineCount", "seenTs", "customer", "audit", "city", "meta.visible"],
        },
      }),
    );
    const mapped = mapper(key, structuredClone(order), 5);
    expect(mapped).toEqual({
      action: "index",
      id: "o1",
      version: 1700000000,
      document: {
        id: "o1",
        title: "DESK",
        summary: "t1/o1 in orders",
        lineCount: 2,
        seenTs: true,
        customer: { name: "Ada", address: {} },
        audit: { author: "u7" },
        city: "Oslo",
        meta: { visible: true },
      },
    });
  });

  it("top-level names still work as they did before paths", () => {
    const mapper = createMapper(sourceWith({ transform: { exclude: ["lines"], rename: { title: "name" } } }));
    const mapped = mapper(key, structuredClone(order), 5);
    expect(mapped.action === "index" && Object.keys(mapped.document).sort()).toEqual([
      "customer",
      "id",
      "meta",
      "name",
      "status",
      "tenant",
    ]);
  });

  it("a transform returning null is a delete at the document's version; one that throws is a TransformError with its message", () => {
    const mapper = createMapper(sourceWith({ transform: { module: join(FIXTURES, "orders.js") } }));
    expect(mapper(key, { ...order, status: "draft" }, 5)).toEqual({ action: "delete", id: "o1", version: 1700000000 });
    expect(() => mapper(key, { ...order, explode: true }, 5)).toThrow(
      new TransformError("transform threw: Error: order o1 cannot be shipped: explode is set"),
    );
  });

  it("a named export, a CommonJS module.exports, and a promise refused per document", () => {
    const shout = createMapper(sourceWith({ transform: { module: join(FIXTURES, "orders.js"), export: "shout" } }));
    expect(shout(key, order, 5)).toMatchObject({ document: { id: "o1", shouted: "DESK" } });
    const cjs = createMapper(sourceWith({ transform: { module: join(FIXTURES, "commonjs.cjs") } }));
    expect(cjs(key, order, 5)).toMatchObject({ document: { id: "o1", from: "commonjs" } });
    const promise = createMapper(sourceWith({ transform: { module: join(FIXTURES, "returns-promise.js") } }));
    expect(() => promise(key, order, 5)).toThrow(/transforms must be synchronous/);
  });

  it("a document the filter (a nested field) does not pass is a delete; one that passes is indexed", () => {
    const mapper = createMapper(sourceWith({ filter: { field: "meta.visible", equals: true } }));
    expect(mapper(key, order, 5)).toMatchObject({ action: "index" });
    expect(mapper(key, { ...order, meta: { visible: false } }, 5)).toEqual({
      action: "delete",
      id: "o1",
      version: 1700000000,
    });
    expect(mapper(key, { ...order, meta: undefined }, 5)).toMatchObject({ action: "delete" });
  });

  it("routes writes and deletes alike by the partition key, and sends indexed documents through the pipeline", () => {
    const mapper = createMapper(
      sourceWith({
        partitionKeyPath: "/tenant",
        routing: "partitionKey",
        documentId: "partitionKeyAndId",
        pipeline: "orders-in",
      }),
    );
    const tenantKey = { id: "o1", pk: "t1" };
    expect(mapper(tenantKey, order, 5)).toMatchObject({ action: "index", routing: "t1", pipeline: "orders-in" });
    expect(mapper(tenantKey, null, 5)).toEqual({ action: "delete", id: '"t1":o1', version: 5, routing: "t1" });
    const hierarchical = createMapper(
      sourceWith({
        partitionKeyPath: ["/tenant", "/region"],
        routing: "partitionKey",
        documentId: "partitionKeyAndId",
      }),
    );
    expect(hierarchical({ id: "o1", pk: ["t9", "eu"] }, null, 5)).toMatchObject({ routing: "t9" });
  });
});

describe("source transform configuration", () => {
  it("refuses routing where one _id could have two routings", () => {
    expect(configError({ partitionKeyPath: "/tenant", routing: "partitionKey" })).toMatch(
      /routing: routing by partition key needs documentId "partitionKeyAndId"/,
    );
    expect(sourceWith({ partitionKeyPath: "/id", routing: "partitionKey" }).routing).toBe("partitionKey");
  });

  it.each([
    ["missing.js", /cannot use transform module .*missing\.js: not found/],
    ["syntax-error.js", /cannot use transform module .*syntax-error\.js: it failed to load: SyntaxError/],
    ["top-level-await.mjs", /top-level await/],
  ])("a module that cannot load (%s) stops config loading, naming the source and the file", (file, message) => {
    const line = configError({ transform: { module: join(FIXTURES, file) } });
    expect(line).toMatch(/^DRIFTLESS_SOURCES\[0\]\.transform\.module: source "orders": /);
    expect(line).toMatch(message);
    expect(line).not.toContain("\n");
  });

  it("an export that is missing or not a function stops config loading", () => {
    const module = join(FIXTURES, "orders.js");
    expect(configError({ transform: { module, export: "nope" } })).toMatch(/has no export "nope"/);
    expect(configError({ transform: { module, export: "notAFunction" } })).toMatch(
      /export "notAFunction" is a number, not a function/,
    );
    expect(configError({ transform: { export: "shout" } })).toMatch(/give module too/);
  });

  it("a TypeScript module is refused unless Node strips types itself", () => {
    const typescript = (process.features as { typescript?: unknown }).typescript;
    const load = () => config({ transform: { module: join(FIXTURES, "types.ts") } });
    if (typescript) expect(load().sources[0]!.transform!.module).toMatch(/types\.ts$/);
    else expect(load).toThrow(/compile the transform to JavaScript/);
  });

  it("resolves the module relative to the sources file", () => {
    const dir = mkdtempSync(join(tmpdir(), "driftless-transforms-"));
    writeFileSync(join(dir, "upper.mjs"), "export default (doc) => ({ ...doc, title: doc.title.toUpperCase() });\n");
    writeFileSync(join(dir, "sources.json"), JSON.stringify({ ...SOURCE, transform: { module: "./upper.mjs" } }));
    const loaded = loadConfig({ ...SERVICES_ENV, DRIFTLESS_SOURCES_FILE: join(dir, "sources.json") }).sources[0]!;
    expect(loaded.transform!.module).toBe(join(dir, "upper.mjs"));
    expect(createMapper(loaded)(key, order, 5)).toMatchObject({ document: { title: "DESK" } });
  });

  it("the CLI exits 3 with one line naming the source and the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "driftless-transforms-"));
    writeFileSync(
      join(dir, "sources.json"),
      JSON.stringify({ ...SOURCE, transform: { module: "./transforms/orders.js" } }),
    );
    const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", "status"], {
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...SERVICES_ENV,
        DRIFTLESS_SOURCES_FILE: join(dir, "sources.json"),
      },
      timeout: 60_000,
    });
    expect(result.status).toBe(3);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^driftless: config_invalid: DRIFTLESS_SOURCES_FILE\[0\]\.transform\.module: source "orders": cannot use transform module .*transforms\/orders\.js: not found/,
    );
  });
});
