import type { estypes } from "@elastic/elasticsearch";
import type { SearchClient as Client } from "./search-client.js";
import { ConfigError } from "../core/errors.js";
import { aliasTargets } from "./aliases.js";
import { AliasInvalidError, AliasTakenError, MappingIncompatibleError, MappingInvalidError } from "./errors.js";
import { dependencyFailure, toRequestFailure, type RequestFailure } from "./failure.js";
import { indexVersionName } from "./index-names.js";
import { DRIFTLESS_METADATA } from "./metadata.js";
import { indexesBehind, ownerMark } from "./ownership.js";
import type { IndexDefinition, IndexMapping } from "./types.js";

export { indexVersionName };

export interface EnsureIndexResult {
  /** The concrete indices behind the alias. */
  readonly indices: readonly string[];
  /** The index this call created, when the alias did not exist yet. */
  readonly created: string | undefined;
  /** Fields (dotted paths) of the configured mapping that were new to an existing index and were added. */
  readonly addedFields: readonly string[];
}

/**
 * Makes the alias usable for writes; safe to run on every start, from several instances at once.
 * - alias exists: fields new in the mapping are added to every index behind it; a change to an
 *   existing field throws MappingIncompatibleError (a new index version and a reimport are needed).
 *   Settings are only used when an index is created.
 * - a concrete index has the alias's name: AliasTakenError.
 * - nothing there: creates `${alias}-<UTC timestamp>` with the mapping, driftless's metadata
 *   fields and the alias (write index) in one request, so no writer ever sees the index without it.
 */
export async function ensureIndex(client: Client, definition: IndexDefinition): Promise<EnsureIndexResult> {
  const { alias } = definition;
  assertAliasName(alias);
  const mapping = withMetadata(definition.mapping);
  for (let attempt = 1; ; attempt++) {
    const state = await readAlias(client, alias);
    if (state === "concrete") throw new AliasTakenError(alias);
    if (state !== "missing") {
      const addedFields = await addNewFields(client, alias, state, mapping);
      return { indices: Object.keys(state), created: undefined, addedFields };
    }
    const index = indexVersionName(alias, new Date());
    const failure = await tryCreate(client, index, { ...definition, mapping }, alias);
    if (!failure) return { indices: [index], created: index, addedFields: [] };
    // Another instance created the alias, or an index of the same name, between the read and the create.
    if (attempt < 3 && isCreateRace(failure)) continue;
    throw createError(alias, failure);
  }
}

export interface IndexVersionOptions {
  /** Settings that replace the definition's own for the same names (a rebuild's bulk-load settings). */
  readonly overrides?: Readonly<Record<string, string | number>>;
  /** An alias of its own (write index), created with the index in the same request. */
  readonly alias?: string;
  /**
   * Return once the index is in the cluster state, without waiting for its primary shard to
   * start: a write that comes before then waits for the shard itself (up to the bulk timeout).
   */
  readonly skipShardWait?: boolean;
}

/**
 * Creates a new concrete index version for the alias without pointing the alias at it: the
 * rebuild fills it, then swapAlias makes it live. Returns its name. One request, however many of
 * the options are given: each index-level change is a cluster-state update of its own.
 */
export async function createIndexVersion(
  client: Client,
  definition: IndexDefinition,
  now = new Date(),
  options: IndexVersionOptions = {},
): Promise<string> {
  assertAliasName(definition.alias);
  if (options.alias !== undefined) assertAliasName(options.alias);
  const mapping = withMetadata(definition.mapping);
  const settings = options.overrides ? overrideSettings(definition.settings, options.overrides) : definition.settings;
  for (let attempt = 1; ; attempt++) {
    const index = indexVersionName(definition.alias, new Date(now.getTime() + attempt - 1));
    const failure = await tryCreate(
      client,
      index,
      { ...definition, mapping, settings },
      options.alias,
      options.skipShardWait,
    );
    if (!failure) return index;
    if (attempt < 3 && failure.type === "resource_already_exists_exception") continue;
    throw createError(definition.alias, failure);
  }
}

/**
 * Points the alias at `newIndex` (as write index) instead of driftless's own index versions
 * behind it, in one atomic `_aliases` request, and returns those versions (to delete once the
 * swap has settled). An index driftless did not create (ownership.ts) stays attached as the
 * operator left it. `must_exist` on each removal makes the swap fail, instead of leaving two
 * versions, if someone else moved the alias between the read and the swap. `retire` names
 * another alias of `newIndex` to remove in the same request (a rebuild's own), when it is still there.
 */
export async function swapAlias(
  client: Client,
  alias: string,
  newIndex: string,
  retire?: string,
): Promise<{ previous: string[] }> {
  assertAliasName(alias);
  const [behind, retiring] = await Promise.all([
    indexesBehind(client, alias),
    retire ? aliasTargets(client, retire) : Promise.resolve<string[]>([]),
  ]);
  const previous = behind.own.filter((index) => index !== newIndex);
  const actions: estypes.IndicesUpdateAliasesAction[] = [
    ...previous.map((index) => ({ remove: { index, alias, must_exist: true } })),
    { add: { index: newIndex, alias, is_write_index: true } },
    ...(retire && retiring.includes(newIndex)
      ? [{ remove: { index: newIndex, alias: retire, must_exist: true } }]
      : []),
  ];
  try {
    await client.indices.updateAliases({ actions });
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.type === "invalid_alias_name_exception") throw new AliasTakenError(alias);
    throw dependencyFailure(`swap of alias "${alias}" to ${newIndex}`, failure);
  }
  return { previous };
}

/**
 * The settings with `overrides` (flat `index.*` names) in place of the same settings however the
 * configuration spells them: `index.x`, `x`, or `{ index: { x } }`. Elasticsearch refuses a
 * setting given twice, so the configured spelling goes.
 */
export function overrideSettings(
  settings: Readonly<Record<string, unknown>> | undefined,
  overrides: Readonly<Record<string, string | number>>,
): Record<string, unknown> {
  const names = Object.keys(overrides).map((name) => name.replace(/^index\./, ""));
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings ?? {})) {
    if (names.includes(key.replace(/^index\./, ""))) continue;
    if (key === "index" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      result.index = Object.fromEntries(Object.entries(value).filter(([name]) => !names.includes(name)));
    } else {
      result[key] = value;
    }
  }
  return { ...result, ...overrides };
}

/** The configured mapping plus driftless's metadata object, which the configuration may not define. */
export function withMetadata(mapping: IndexMapping): IndexMapping {
  const properties = (mapping.properties ?? {}) as Record<string, unknown>;
  if (Object.hasOwn(properties, DRIFTLESS_METADATA.field)) {
    throw new ConfigError(
      `mapping.properties.${DRIFTLESS_METADATA.field}`,
      "reserved for driftless's own metadata (driftless.key, driftless.ts): rename the source field",
    );
  }
  return { ...mapping, properties: { ...properties, [DRIFTLESS_METADATA.field]: DRIFTLESS_METADATA.mapping } };
}

export function assertAliasName(alias: string): void {
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(alias)) {
    throw new AliasInvalidError(
      alias,
      "use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
    );
  }
  if (alias.length > 230) throw new AliasInvalidError(alias, "longer than 230 characters");
}

type AliasState = "missing" | "concrete" | Record<string, estypes.IndicesIndexState>;

async function readAlias(client: Client, alias: string): Promise<AliasState> {
  try {
    const indices = await client.indices.get({ index: alias, features: ["aliases", "mappings"] });
    return Object.hasOwn(indices, alias) ? "concrete" : indices;
  } catch (error) {
    const failure = toRequestFailure(error);
    if (failure.statusCode === 404) return "missing";
    throw dependencyFailure(`read of "${alias}"`, failure);
  }
}

/** Puts the mapping when some index behind the alias lacks part of it; ES decides what is compatible. */
async function addNewFields(
  client: Client,
  alias: string,
  indices: Record<string, estypes.IndicesIndexState>,
  mapping: IndexMapping,
): Promise<string[]> {
  const states = Object.entries(indices);
  if (states.every(([, state]) => contains(state.mappings ?? {}, mapping))) return [];
  const wanted = fieldPaths(mapping);
  const added = new Set<string>();
  for (const [, state] of states) {
    const existing = new Set(fieldPaths((state.mappings ?? {}) as IndexMapping));
    for (const path of wanted) if (!existing.has(path)) added.add(path);
  }
  try {
    await client.transport.request({ method: "PUT", path: `/${encodeURIComponent(alias)}/_mapping`, body: mapping });
  } catch (error) {
    const failure = toRequestFailure(error);
    const names = states.map(([name]) => name).join(", ");
    if (failure.type === "illegal_argument_exception")
      throw new MappingIncompatibleError(alias, names, failure.description);
    if (failure.type === "mapper_parsing_exception") throw new MappingInvalidError(alias, failure.description);
    throw dependencyFailure(`mapping update of "${alias}"`, failure);
  }
  return [...added].sort();
}

/**
 * How long Elasticsearch remembers a deleted document's version (`index.gc_deletes`) in indexes
 * driftless creates, unless the source's settings say otherwise. Elasticsearch's own default is
 * 60 s; after it, a write with any external version re-creates the document. A reimport writes
 * pages it read earlier, so a document deleted after its page was read would come back as a ghost
 * if the page were written after the delete was forgotten: reimport re-reads a page older than
 * half this window (shared/jobs/reimport.ts), and this window leaves room for its slowest write.
 */
export const DEFAULT_GC_DELETES = "10m";

/** The `index.gc_deletes` window of a source's index in ms, from its settings or the default above. */
export function gcDeletesMs(settings: Readonly<Record<string, unknown>> | undefined): number {
  const nested = (settings?.index as Record<string, unknown> | undefined)?.gc_deletes;
  const value = settings?.["index.gc_deletes"] ?? settings?.gc_deletes ?? nested ?? DEFAULT_GC_DELETES;
  return parseTimeValue(String(value)) ?? parseTimeValue(DEFAULT_GC_DELETES)!;
}

/** An Elasticsearch time value ("90s", "10m", "500ms", "1h", "2d") in ms. */
function parseTimeValue(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { nanos: 1e-6, micros: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "ms"];
  return Number(match[1]) * unit;
}

/** The settings an index is created with: the definition's, with driftless's gc_deletes unless it sets one. */
function withGcDeletes(settings: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const given = settings ?? {};
  const nested = (given.index as Record<string, unknown> | undefined)?.gc_deletes;
  if (given["index.gc_deletes"] !== undefined || given.gc_deletes !== undefined || nested !== undefined)
    return { ...given };
  return { ...given, "index.gc_deletes": DEFAULT_GC_DELETES };
}

async function tryCreate(
  client: Client,
  index: string,
  definition: IndexDefinition,
  alias: string | undefined,
  skipShardWait = false,
): Promise<RequestFailure | undefined> {
  try {
    await client.indices.create({
      index,
      ...(skipShardWait ? { wait_for_active_shards: 0 } : {}),
      // The mark that lets a rebuild tell its own versions from indices an operator attached.
      mappings: {
        ...definition.mapping,
        _meta: { ...metaOf(definition.mapping), ...ownerMark(definition.alias) },
      } as estypes.MappingTypeMapping,
      settings: withGcDeletes(definition.settings) as estypes.IndicesIndexSettings,
      ...(alias ? { aliases: { [alias]: { is_write_index: true } } } : {}),
    });
    return undefined;
  } catch (error) {
    return toRequestFailure(error);
  }
}

function metaOf(mapping: IndexMapping): Record<string, unknown> {
  const meta = (mapping as { _meta?: unknown })._meta;
  return meta !== null && typeof meta === "object" && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {};
}

function isCreateRace(failure: RequestFailure): boolean {
  // illegal_state_exception: "alias [x] has more than one write index" (a 500, and nothing was created).
  return (
    failure.type === "resource_already_exists_exception" ||
    failure.type === "illegal_state_exception" ||
    failure.type === "invalid_alias_name_exception"
  );
}

function createError(alias: string, failure: RequestFailure): Error {
  if (failure.type === "invalid_alias_name_exception") return new AliasTakenError(alias);
  if (
    failure.statusCode === 400 &&
    (failure.type === "mapper_parsing_exception" || failure.type === "illegal_argument_exception")
  ) {
    return new MappingInvalidError(alias, failure.description);
  }
  return dependencyFailure(`creation of an index for "${alias}"`, failure);
}

/** Whether every value in `wanted` is present, equal, in `actual` (objects compared key by key). */
function contains(actual: unknown, wanted: unknown): boolean {
  if (wanted === null || typeof wanted !== "object") return actual === wanted;
  if (actual === null || typeof actual !== "object") return false;
  if (Array.isArray(wanted) !== Array.isArray(actual)) return false;
  if (Array.isArray(wanted)) {
    const list = actual as unknown[];
    return wanted.length === list.length && wanted.every((value, i) => contains(list[i], value));
  }
  return Object.entries(wanted).every(([key, value]) => contains((actual as Record<string, unknown>)[key], value));
}

/** Dotted paths of every field a mapping defines, multi-fields included. */
function fieldPaths(mapping: IndexMapping, prefix = ""): string[] {
  const paths: string[] = [];
  for (const [name, raw] of Object.entries((mapping.properties ?? {}) as Record<string, unknown>)) {
    if (!raw || typeof raw !== "object") continue;
    const field = raw as { properties?: unknown; fields?: Record<string, unknown> };
    const path = `${prefix}${name}`;
    paths.push(path);
    if (field.properties) paths.push(...fieldPaths(field as IndexMapping, `${path}.`));
    for (const sub of Object.keys(field.fields ?? {})) paths.push(`${path}.${sub}`);
  }
  return paths;
}
