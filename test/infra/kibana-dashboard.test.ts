import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { settingsSchema } from "../../shared/config/settings.js";
import { MAPPINGS } from "../../shared/elastic/sync-events.js";
import { createLogger } from "../../shared/telemetry/logger.js";
import { repoRoot } from "./bicep-tree.js";
import { LOG_FIELDS } from "./dashboard-log-fields.js";

/*
 * No Kibana runs here, so infra/kibana/driftless-dashboard.ndjson is checked structurally: every
 * line a saved object, every reference and every reference name used inside the JSON strings
 * resolved inside the file (the way Kibana resolves them), every field a chart, query or column
 * uses present in the events mapping or in what the logger writes, and the attributes limited to
 * the keys Kibana's create schemas accept. scripts/kibana-import.sh is run against a local HTTP
 * server standing in for Kibana's import API. Nothing here proves that Kibana renders the panels.
 */

const NDJSON = join(repoRoot, "infra/kibana/driftless-dashboard.ndjson");
const SCRIPT = join(repoRoot, "scripts/kibana-import.sh");
const INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index";
const EVENTS_VIEW = "driftless-events";
const LOGS_VIEW = "driftless-logs";
const DASHBOARD = "driftless-dashboard";

interface Reference {
  readonly name: string;
  readonly type: string;
  readonly id: string;
}

interface SavedObject {
  readonly type: string;
  readonly id: string;
  readonly attributes: Record<string, unknown>;
  readonly references: readonly Reference[];
  readonly coreMigrationVersion?: unknown;
  readonly typeMigrationVersion?: unknown;
}

interface Agg {
  readonly id: string;
  readonly type: string;
  readonly schema: string;
  readonly params: { readonly field?: string };
}

interface Panel {
  readonly type: string;
  readonly panelIndex: string;
  readonly panelRefName?: string;
  readonly gridData: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
    readonly i: string;
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function parseNdjson(text: string): SavedObject[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, index) => {
    const value: unknown = JSON.parse(line);
    if (!isRecord(value)) throw new Error(`line ${index + 1} is not a JSON object`);
    const { type, id, attributes, references = [] } = value;
    if (typeof type !== "string" || typeof id !== "string" || !isRecord(attributes))
      throw new Error(`line ${index + 1} lacks type, id or attributes`);
    if (!Array.isArray(references)) throw new Error(`line ${index + 1}: references is not an array`);
    return { ...value, type, id, attributes, references: references as Reference[] };
  });
}

const objects = (): SavedObject[] => parseNdjson(readFileSync(NDJSON, "utf8"));
const byId = (id: string): SavedObject => {
  const found = objects().find((object) => object.id === id);
  if (!found) throw new Error(`no saved object ${id}`);
  return found;
};
const key = (object: { type: string; id: string }): string => `${object.type}/${object.id}`;

function stringAttribute(attributes: Record<string, unknown>, path: string): string | undefined {
  let value: unknown = attributes;
  for (const part of path.split(".")) value = isRecord(value) ? value[part] : undefined;
  return typeof value === "string" ? value : undefined;
}

const searchSource = (object: SavedObject): Record<string, unknown> => {
  const json = stringAttribute(object.attributes, "kibanaSavedObjectMeta.searchSourceJSON");
  if (json === undefined) throw new Error(`${key(object)} has no searchSourceJSON`);
  return JSON.parse(json) as Record<string, unknown>;
};
const visState = (object: SavedObject): { type: string; aggs: Agg[]; params: Record<string, unknown> } =>
  JSON.parse(stringAttribute(object.attributes, "visState") ?? "null") as {
    type: string;
    aggs: Agg[];
    params: Record<string, unknown>;
  };
const panels = (dashboard: SavedObject): Panel[] =>
  JSON.parse(stringAttribute(dashboard.attributes, "panelsJSON") ?? "null") as Panel[];
const queryOf = (object: SavedObject): string => {
  const query = searchSource(object).query;
  return isRecord(query) && typeof query.query === "string" ? query.query : "";
};

/** Every `indexRefName` anywhere in a parsed searchSourceJSON (the top level and `filter[].meta`). */
function indexRefNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(indexRefNames);
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([name, inner]) =>
    name === "indexRefName" && typeof inner === "string" ? [inner] : indexRefNames(inner),
  );
}

/**
 * The reference a dashboard panel's `panelRefName` stands for, found the way Kibana's dashboard
 * `createInject` does: among the references named `<panelIndex>:…` (prefix removed), or, when a
 * panel has none, among all of them.
 */
function panelReference(panel: Panel, references: readonly Reference[]): Reference | undefined {
  const prefix = `${panel.panelIndex}:`;
  const own = references
    .filter((reference) => reference.name.startsWith(prefix))
    .map((reference) => ({ ...reference, name: reference.name.slice(prefix.length) }));
  return (own.length > 0 ? own : references).find((reference) => reference.name === panel.panelRefName);
}

/** Fields of the sync events data stream, with their Elasticsearch types, from the index template itself. */
const EVENT_FIELDS: Record<string, string> = Object.fromEntries(
  Object.entries(MAPPINGS.properties).map(([name, mapping]) => [name, mapping.type]),
);

const FIELDS_BY_VIEW: Record<string, Record<string, string>> = { [EVENTS_VIEW]: EVENT_FIELDS, [LOGS_VIEW]: LOG_FIELDS };

function fieldsOf(object: SavedObject): Record<string, string> {
  const view = object.references.find((reference) => reference.name === INDEX_REF);
  const fields = view ? FIELDS_BY_VIEW[view.id] : undefined;
  if (!fields) throw new Error(`${key(object)} does not use a driftless data view`);
  return fields;
}

/** Field names a KQL query tests (`field : value`); driftless's queries use no other form. */
const kqlFields = (query: string): string[] =>
  [...query.matchAll(/([A-Za-z@_][\w.@]*)\s*:/g)].map((match) => match[1]!);

/**
 * Attribute keys Kibana's create schemas accept; the schemas refuse any other key, which would fail
 * the import: visualization (schema 8.8.0), search (the legacy flat schema and model versions
 * 1–5), dashboard (model version 1, `unknowns: 'forbid'`). index-pattern has no schema.
 */
const ALLOWED_ATTRIBUTES: Record<string, readonly string[]> = {
  visualization: [
    "title",
    "description",
    "version",
    "kibanaSavedObjectMeta",
    "uiStateJSON",
    "visState",
    "savedSearchRefName",
  ],
  search: [
    ...[
      "title",
      "description",
      "columns",
      "sort",
      "grid",
      "rowHeight",
      "rowsPerPage",
      "hideChart",
      "breakdownField",
      "kibanaSavedObjectMeta",
    ],
    ...[
      "isTextBasedQuery",
      "usesAdHocDataView",
      "timeRestore",
      "timeRange",
      "refreshInterval",
      "viewMode",
      "hideAggregatedPreview",
      "hits",
    ],
    ...["version", "sampleSize", "headerRowHeight", "visContext", "density"],
  ],
  dashboard: [
    "title",
    "description",
    "kibanaSavedObjectMeta",
    "timeRestore",
    "timeFrom",
    "timeTo",
    "refreshInterval",
    "controlGroupInput",
    "panelsJSON",
    "optionsJSON",
    "hits",
    "version",
  ],
};

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

describe("infra/kibana/driftless-dashboard.ndjson", () => {
  it("is one saved object per line, each with type, id and attributes, ids unique per type", () => {
    const text = readFileSync(NDJSON, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    for (const [index, line] of lines.entries()) {
      expect(line.trim(), `line ${index + 1}`).not.toBe("");
      const value: unknown = JSON.parse(line);
      expect(isRecord(value), `line ${index + 1}`).toBe(true);
      const object = value as Record<string, unknown>;
      expect(typeof object.type, `line ${index + 1}`).toBe("string");
      expect(typeof object.id, `line ${index + 1}`).toBe("string");
      expect(isRecord(object.attributes), `line ${index + 1}`).toBe(true);
    }
    const keys = objects().map(key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(
      [
        `dashboard/${DASHBOARD}`,
        `index-pattern/${EVENTS_VIEW}`,
        `index-pattern/${LOGS_VIEW}`,
        "search/driftless-warnings-errors",
        "visualization/driftless-changes-over-time",
        "visualization/driftless-changes-per-source",
        "visualization/driftless-log-levels-over-time",
        "visualization/driftless-top-documents",
      ].sort(),
    );
  });

  it("resolves every reference to an object in the file, with names unique per object", () => {
    const all = objects();
    const present = new Set(all.map(key));
    for (const object of all) {
      const names = object.references.map((reference) => reference.name);
      expect(new Set(names).size, key(object)).toBe(names.length);
      for (const reference of object.references) {
        expect(typeof reference.name === "string" && reference.name.length > 0, `${key(object)} reference`).toBe(true);
        expect(present.has(key(reference)), `${key(object)} → ${key(reference)}`).toBe(true);
      }
    }
  });

  it("has a reference for every indexRefName in searchSourceJSON, pointing at a data view, and no stale index id", () => {
    for (const object of objects().filter(
      (o) => stringAttribute(o.attributes, "kibanaSavedObjectMeta.searchSourceJSON") !== undefined,
    )) {
      const source = searchSource(object);
      // Exports replace `index` by `indexRefName`; an id left inline would bypass the references.
      expect(source.index, key(object)).toBeUndefined();
      for (const name of indexRefNames(source)) {
        const reference = object.references.find((r) => r.name === name);
        expect(reference, `${key(object)}: ${name}`).toBeDefined();
        expect(reference?.type, `${key(object)}: ${name}`).toBe("index-pattern");
      }
    }
    for (const object of objects().filter((o) => o.type === "visualization" || o.type === "search")) {
      expect(indexRefNames(searchSource(object)), key(object)).toEqual([INDEX_REF]);
    }
  });

  it("resolves every dashboard panel's panelRefName to a visualization or search in the file, and uses every reference", () => {
    const dashboard = byId(DASHBOARD);
    expect(dashboard.type).toBe("dashboard");
    const present = new Set(objects().map(key));
    const list = panels(dashboard);
    expect(list.length).toBeGreaterThan(0);
    const used = new Set<string>();
    for (const panel of list) {
      expect(panel.panelRefName, panel.panelIndex).toBeDefined();
      const reference = panelReference(panel, dashboard.references);
      expect(reference, `${panel.panelIndex}: ${panel.panelRefName}`).toBeDefined();
      expect(["visualization", "search"]).toContain(reference!.type);
      // Kibana refuses to save a dashboard whose panels lack `type`; it must match the reference.
      expect(panel.type, panel.panelIndex).toBe(reference!.type);
      expect(present.has(key(reference!)), `${panel.panelIndex} → ${key(reference!)}`).toBe(true);
      used.add(`${panel.panelIndex}:${reference!.name}`);
    }
    expect(dashboard.references.map((reference) => reference.name).sort()).toEqual([...used].sort());
    // Every visualization and saved search in the file is on the dashboard.
    const shown = new Set(list.map((panel) => panelReference(panel, dashboard.references)!.id));
    for (const object of objects().filter((o) => o.type === "visualization" || o.type === "search"))
      expect(shown.has(object.id), object.id).toBe(true);
  });

  it("lays the panels out on Kibana's 48-column grid without overlaps", () => {
    const list = panels(byId(DASHBOARD));
    const indexes = list.map((panel) => panel.panelIndex);
    expect(new Set(indexes).size).toBe(indexes.length);
    for (const { gridData: g, panelIndex } of list) {
      expect(g.i, panelIndex).toBe(panelIndex);
      expect(g.x >= 0 && g.y >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 48, panelIndex).toBe(true);
    }
    for (const [n, a] of list.entries()) {
      for (const b of list.slice(n + 1)) {
        const overlap =
          a.gridData.x < b.gridData.x + b.gridData.w &&
          b.gridData.x < a.gridData.x + a.gridData.w &&
          a.gridData.y < b.gridData.y + b.gridData.h &&
          b.gridData.y < a.gridData.y + a.gridData.h;
        expect(overlap, `${a.panelIndex} / ${b.panelIndex}`).toBe(false);
      }
    }
  });

  it("aggregates only fields of the events mapping or the ECS log fields, with fitting types", () => {
    for (const object of objects().filter((o) => o.type === "visualization")) {
      const fields = fieldsOf(object);
      const state = visState(object);
      expect(state.aggs.length, key(object)).toBeGreaterThan(0);
      for (const agg of state.aggs) {
        if (agg.type === "count") {
          expect(agg.params.field, `${key(object)} agg ${agg.id}`).toBeUndefined();
          continue;
        }
        const field = agg.params.field ?? "";
        expect(Object.keys(fields), `${key(object)} agg ${agg.id}`).toContain(field);
        // date_histogram needs a date, terms an aggregatable keyword.
        expect(fields[field], `${key(object)} agg ${agg.id} on ${field}`).toBe(
          agg.type === "date_histogram" ? "date" : "keyword",
        );
        expect(["date_histogram", "terms"], `${key(object)} agg ${agg.id}`).toContain(agg.type);
      }
    }
  });

  it("names only existing fields in saved-search columns and sort, and in every KQL query", () => {
    for (const object of objects().filter((o) => o.type === "search")) {
      const fields = fieldsOf(object);
      const columns = object.attributes.columns as string[];
      const sort = object.attributes.sort as [string, string][];
      expect(columns.length, key(object)).toBeGreaterThan(0);
      for (const column of columns) expect(Object.keys(fields), `${key(object)} column`).toContain(column);
      expect(sort.length, key(object)).toBeGreaterThan(0);
      for (const [field, direction] of sort) {
        expect(Object.keys(fields), `${key(object)} sort`).toContain(field);
        expect(["asc", "desc"]).toContain(direction);
      }
    }
    for (const object of objects().filter((o) => o.type === "visualization" || o.type === "search")) {
      for (const field of kqlFields(queryOf(object)))
        expect(Object.keys(fieldsOf(object)), `${key(object)} query`).toContain(field);
    }
  });

  it("has the panels the dashboard is for", () => {
    const viewOf = (object: SavedObject) => object.references.find((reference) => reference.name === INDEX_REF)?.id;
    const aggs = (id: string) =>
      visState(byId(id)).aggs.map((agg) => `${agg.schema}:${agg.type}:${agg.params.field ?? ""}`);

    expect(viewOf(byId("driftless-changes-over-time"))).toBe(EVENTS_VIEW);
    expect(aggs("driftless-changes-over-time")).toEqual([
      "metric:count:",
      "segment:date_histogram:@timestamp",
      "group:terms:action",
    ]);
    expect(viewOf(byId("driftless-changes-per-source"))).toBe(EVENTS_VIEW);
    expect(aggs("driftless-changes-per-source")).toContain("segment:terms:source");
    expect(viewOf(byId("driftless-top-documents"))).toBe(EVENTS_VIEW);
    expect(aggs("driftless-top-documents")[1]).toBe("bucket:terms:id");
    expect(viewOf(byId("driftless-log-levels-over-time"))).toBe(LOGS_VIEW);
    expect(aggs("driftless-log-levels-over-time")).toEqual([
      "metric:count:",
      "segment:date_histogram:@timestamp",
      "group:terms:log.level",
    ]);

    const search = byId("driftless-warnings-errors");
    expect(viewOf(search)).toBe(LOGS_VIEW);
    expect(queryOf(search)).toBe('service.name : "driftless" and log.level : ("warn" or "error")');
    expect(search.attributes.sort).toEqual([["@timestamp", "desc"]]);
    // The logs data view is a shared pattern: everything on it filters to driftless's lines.
    for (const object of objects().filter((o) => viewOf(o) === LOGS_VIEW))
      expect(queryOf(object), key(object)).toMatch(/^service\.name : "driftless"/);

    const dashboard = byId(DASHBOARD);
    expect(dashboard.attributes.title).toBe("driftless");
  });

  it("counts changes on the count documents, and per document on the id documents alone", () => {
    // A count document stands for its batch's changes (_doc_count); an id document for one change
    // of each id in it. A Count split by anything but the id must leave the id documents out.
    for (const object of objects().filter(
      (o) =>
        o.type === "visualization" &&
        o.references.find((reference) => reference.name === INDEX_REF)?.id === EVENTS_VIEW,
    )) {
      const perId = visState(object).aggs.some((agg) => agg.type === "terms" && agg.params.field === "id");
      if (perId) expect(queryOf(object), key(object)).toBe("");
      else expect(queryOf(object), key(object)).toBe('not kind : "ids"');
    }
  });

  it("keeps attributes to the keys Kibana's create schemas accept", () => {
    for (const object of objects()) {
      const allowed = ALLOWED_ATTRIBUTES[object.type];
      if (object.type === "index-pattern") {
        expect(typeof object.attributes.title, key(object)).toBe("string");
        expect(object.attributes.timeFieldName, key(object)).toBe("@timestamp");
        continue;
      }
      expect(allowed, object.type).toBeDefined();
      for (const name of Object.keys(object.attributes)) expect(allowed, `${key(object)}.${name}`).toContain(name);
      expect(typeof object.attributes.title, key(object)).toBe("string");
    }
    for (const object of objects().filter((o) => o.type === "visualization")) {
      expect(visState(object).params, key(object)).toBeDefined();
      expect(JSON.parse(stringAttribute(object.attributes, "uiStateJSON") ?? "null"), key(object)).toEqual({});
    }
    expect(JSON.parse(stringAttribute(byId(DASHBOARD).attributes, "optionsJSON") ?? "null")).toMatchObject({
      useMargins: true,
    });
  });

  it("carries migration versions no newer than Kibana 8.19, so Kibana runs its migrations on import", () => {
    // Without typeMigrationVersion Kibana's DocumentUpgradePipeline treats an object as already at
    // the latest version: it skips the type's migrations and validates against the newest schema.
    for (const object of objects()) {
      for (const version of [object.coreMigrationVersion, object.typeMigrationVersion]) {
        expect(typeof version === "string" && /^\d+\.\d+\.\d+$/.test(version), key(object)).toBe(true);
        expect(compareVersions(version as string, "8.19.0"), `${key(object)} ${String(version)}`).toBeLessThanOrEqual(
          0,
        );
      }
    }
  });

  it("titles the events data view with the default SYNC_EVENTS_STREAM and the logs data view logs-*", () => {
    expect(byId(EVENTS_VIEW).attributes.title).toBe(settingsSchema.shape.SYNC_EVENTS_STREAM.parse(undefined));
    expect(byId(EVENTS_VIEW).attributes.title).toBe("driftless-sync-events");
    expect(byId(LOGS_VIEW).attributes.title).toBe("logs-*");
  });

  it("reads with its logs data view the data stream driftless ships its logs to by default", () => {
    const pattern = String(byId(LOGS_VIEW).attributes.title);
    const matches = (name: string) =>
      new RegExp(
        `^${pattern
          .split("*")
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*")}$`,
      ).test(name);
    expect(matches(settingsSchema.shape.LOG_ELASTICSEARCH_DATA_STREAM.parse(undefined))).toBe(true);
    // Any name the setting accepts is one the data view reads.
    expect(settingsSchema.shape.LOG_ELASTICSEARCH_DATA_STREAM.safeParse("driftless-logs").success).toBe(false);
    expect(matches("driftless-logs")).toBe(false);
  });

  it("uses log fields the logger really writes", async () => {
    let output = "";
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    createLogger("info", sink).warn(
      { source: "orders", dependency: "elasticsearch", deadLettered: 2, err: "bulk request failed" },
      "batch settled with dead letters",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = JSON.parse(output.trim().split("\n")[0]!) as Record<string, unknown>;
    const flat = new Map<string, unknown>();
    const flatten = (value: Record<string, unknown>, prefix: string) => {
      for (const [name, inner] of Object.entries(value))
        isRecord(inner) ? flatten(inner, `${prefix}${name}.`) : flat.set(`${prefix}${name}`, inner);
    };
    flatten(line, "");
    for (const field of Object.keys(LOG_FIELDS)) expect(flat.has(field), field).toBe(true);
    expect(flat.get("service.name")).toBe("driftless");
    expect(flat.get("log.level")).toBe("warn");
  });
});

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The file part of a multipart/form-data body: its headers and its bytes. */
function filePart(request: Recorded): { headers: string; content: string } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(request.headers["content-type"] ?? "");
  const marker = `--${boundary?.[1] ?? boundary?.[2] ?? "?"}`;
  const part = request.body
    .toString("utf8")
    .split(marker)
    .find((chunk) => /name="file"/.test(chunk));
  if (part === undefined) throw new Error("no file part in the request");
  const split = part.indexOf("\r\n\r\n");
  return { headers: part.slice(0, split), content: part.slice(split + 4, part.lastIndexOf("\r\n")) };
}

describe("scripts/kibana-import.sh", () => {
  let server: Server;
  let kibanaUrl: string;
  let requests: Recorded[] = [];
  let answer: { status: number; body: string } = { status: 200, body: "{}" };
  let scratch: string;
  const original = readFileSync(NDJSON, "utf8");

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "driftless-kibana-test-"));
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        requests.push({
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks),
        });
        response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    kibanaUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(scratch, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests = [];
    answer = { status: 200, body: JSON.stringify({ success: true, successCount: 8, successResults: [] }) };
  });

  /** Runs the script with only PATH and the given variables (none of the caller's KIBANA_* leak in). */
  function run(env: Record<string, string>, args: string[] = [], path = process.env.PATH ?? ""): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        "bash",
        [SCRIPT, ...args],
        { env: { PATH: path, TMPDIR: scratch, ...env }, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** A PATH holding exactly the tools the script says it needs, without jq. */
  function pathWithoutJq(): string {
    const dir = join(scratch, "bin-no-jq");
    if (existsSync(dir)) return dir;
    mkdirSync(dir);
    const dirs = (process.env.PATH ?? "").split(delimiter);
    for (const tool of ["bash", "curl", "sed", "grep", "base64", "mktemp", "tr", "cp", "rm", "cat", "dirname", "awk"]) {
      const found = dirs.map((d) => join(d, tool)).find((candidate) => existsSync(candidate));
      if (!found) throw new Error(`${tool} is not installed`);
      symlinkSync(found, join(dir, tool));
    }
    return dir;
  }

  it("passes bash -n", async () => {
    const result = await new Promise<Run>((resolve) =>
      execFile("bash", ["-n", SCRIPT], (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr })),
    );
    expect(result).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("posts the file as multipart with kbn-xsrf and the API key, and reports success", async () => {
    const apiKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
    const result = await run({ KIBANA_URL: kibanaUrl, KIBANA_API_KEY: apiKey });
    expect(result.code, result.stderr).toBe(0);
    expect(requests).toHaveLength(1);
    const [request] = requests as [Recorded];
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/api/saved_objects/_import?overwrite=true");
    expect(request.headers["kbn-xsrf"]).toBe("true");
    expect(request.headers.authorization).toBe(`ApiKey ${apiKey}`);
    expect(request.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    const part = filePart(request);
    // Kibana refuses a file whose name does not end in .ndjson.
    expect(part.headers).toContain('filename="driftless-dashboard.ndjson"');
    expect(part.content).toBe(original);
    expect(result.stdout).toContain("Imported 8 saved objects");
    expect(result.stdout).toContain(`${kibanaUrl}/app/dashboards#/view/${DASHBOARD}`);
    expect(result.stdout + result.stderr).not.toContain(apiKey);
  });

  it("sends basic authentication, whatever the password holds, without printing it", async () => {
    const password = `p@ss "wo'rd\\ $HOME`;
    const result = await run({ KIBANA_URL: `${kibanaUrl}/`, KIBANA_USERNAME: "elastic", KIBANA_PASSWORD: password });
    expect(result.code, result.stderr).toBe(0);
    expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from(`elastic:${password}`).toString("base64")}`);
    expect(requests[0]?.url).toBe("/api/saved_objects/_import?overwrite=true");
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it("sends no Authorization header without credentials, and imports into KIBANA_SPACE", async () => {
    const result = await run({ KIBANA_URL: kibanaUrl, KIBANA_SPACE: "ops" });
    expect(result.code, result.stderr).toBe(0);
    expect(requests[0]?.headers.authorization).toBeUndefined();
    expect(requests[0]?.url).toBe("/s/ops/api/saved_objects/_import?overwrite=true");
    expect(result.stdout).toContain(`${kibanaUrl}/s/ops/app/dashboards#/view/${DASHBOARD}`);
  });

  it("retitles the events and logs data views from SYNC_EVENTS_STREAM and DRIFTLESS_LOGS_PATTERN, and nothing else", async () => {
    const result = await run({
      KIBANA_URL: kibanaUrl,
      SYNC_EVENTS_STREAM: "shop.sync-events_v2",
      DRIFTLESS_LOGS_PATTERN: "logs-driftless-*",
    });
    expect(result.code, result.stderr).toBe(0);
    const sent = filePart(requests[0]!).content;
    const uploaded = parseNdjson(sent);
    expect(uploaded.find((o) => o.id === EVENTS_VIEW)?.attributes.title).toBe("shop.sync-events_v2");
    expect(uploaded.find((o) => o.id === LOGS_VIEW)?.attributes.title).toBe("logs-driftless-*");
    const before = original.split("\n");
    const after = sent.split("\n");
    expect(after).toHaveLength(before.length);
    const changed = after
      .map((line, i) => (line === before[i] ? undefined : (JSON.parse(line) as SavedObject).id))
      .filter(Boolean);
    expect(changed.sort()).toEqual([EVENTS_VIEW, LOGS_VIEW].sort());
    expect(result.stdout).toContain("Events data view: shop.sync-events_v2");
  });

  it("accepts exactly the stream names the SYNC_EVENTS_STREAM setting accepts", async () => {
    const names = [
      "driftless-sync-events",
      "a",
      "events.v2_x",
      "Events",
      "-events",
      "ev ents",
      "ev/ents",
      "ev&nts",
      "x".repeat(200),
      "x".repeat(201),
    ];
    for (const name of names) {
      const valid = settingsSchema.shape.SYNC_EVENTS_STREAM.safeParse(name).success;
      const result = await run({ KIBANA_URL: kibanaUrl, SYNC_EVENTS_STREAM: name });
      expect(result.code, `${name}: ${result.stderr}`).toBe(valid ? 0 : 2);
    }
  });

  it("exits non-zero on success:false and lists the failed objects, with jq and without", async () => {
    answer = {
      status: 200,
      body: JSON.stringify({
        success: false,
        successCount: 7,
        errors: [
          {
            id: "driftless-top-documents",
            type: "visualization",
            meta: { title: "[driftless] Most changed documents" },
            error: { type: "missing_references", references: [{ type: "index-pattern", id: "driftless-events" }] },
          },
        ],
        successResults: [],
      }),
    };
    const withJq = await run({ KIBANA_URL: kibanaUrl });
    expect(withJq.code).toBe(1);
    expect(withJq.stderr).toContain(
      "visualization/driftless-top-documents ([driftless] Most changed documents): missing_references index-pattern/driftless-events",
    );
    expect(withJq.stdout).toBe("");

    const withoutJq = await run({ KIBANA_URL: kibanaUrl }, [], pathWithoutJq());
    expect(withoutJq.code).toBe(1);
    expect(withoutJq.stderr).toContain('"id":"driftless-top-documents"');
    expect(withoutJq.stderr).toContain("missing_references");
    expect(requests).toHaveLength(2);

    answer = { status: 200, body: JSON.stringify({ success: true, successCount: 8 }) };
    const okWithoutJq = await run({ KIBANA_URL: kibanaUrl }, [], pathWithoutJq());
    expect(okWithoutJq.code, okWithoutJq.stderr).toBe(0);
    expect(okWithoutJq.stdout).toContain("Imported 8 saved objects");
  });

  it("exits non-zero on an HTTP error and prints Kibana's answer, not the credentials", async () => {
    answer = {
      status: 401,
      body: JSON.stringify({
        statusCode: 401,
        error: "Unauthorized",
        message: "[security_exception] unable to authenticate user",
      }),
    };
    const result = await run({ KIBANA_URL: kibanaUrl, KIBANA_USERNAME: "elastic", KIBANA_PASSWORD: "wrong-secret" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("HTTP 401");
    expect(result.stderr).toContain("unable to authenticate user");
    expect(result.stdout + result.stderr).not.toContain("wrong-secret");
  });

  it("exits non-zero when Kibana cannot be reached, without printing URL credentials", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await run({ KIBANA_URL: `http://admin:url-secret@127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not reach Kibana at http://127.0.0.1:${port}`);
    expect(result.stdout + result.stderr).not.toContain("url-secret");
  });

  it("refuses bad arguments and settings with exit 2, before any request", async () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ SYNC_EVENTS_STREAM: "Bad Name" }, [], /SYNC_EVENTS_STREAM/],
      [{ DRIFTLESS_LOGS_PATTERN: "logs/*" }, [], /DRIFTLESS_LOGS_PATTERN/],
      [{ KIBANA_API_KEY: "abc=", KIBANA_USERNAME: "elastic", KIBANA_PASSWORD: "x" }, [], /not both/],
      [{ KIBANA_USERNAME: "elastic" }, [], /go together/],
      [{ KIBANA_API_KEY: 'a"b' }, [], /KIBANA_API_KEY/],
      [{ KIBANA_SPACE: "Ops Team" }, [], /KIBANA_SPACE/],
      [{ KIBANA_URL: "localhost:5601" }, [], /KIBANA_URL/],
      [{}, ["--verbose"], /unknown option/],
      [{}, [join(scratch, "missing.ndjson")], /cannot read/],
      [{}, [NDJSON, NDJSON], /at most one argument/],
    ];
    for (const [env, args, message] of cases) {
      const result = await run({ KIBANA_URL: kibanaUrl, ...env }, args);
      expect(result.code, JSON.stringify(env) + args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(requests).toHaveLength(0);
    const help = await run({}, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("KIBANA_API_KEY");
  });

  it("imports a file given as argument", async () => {
    const result = await run({ KIBANA_URL: kibanaUrl }, [NDJSON]);
    expect(result.code, result.stderr).toBe(0);
    expect(filePart(requests[0]!).content).toBe(original);
  });
});
