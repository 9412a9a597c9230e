import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { toConfig, type Config } from "./config.js";
import { settingsSchema, type Settings } from "./settings.js";
import { loadTransform, TransformLoadError } from "../sync/transform-module.js";
import { sourcesSchema, toSourceConfig, type SourceConfig, type SourceDefinition } from "./source.js";
import { DEFAULT_TARGET, resolveTarget, targetsSchema, type TargetConfig } from "./targets.js";

export type { Config } from "./config.js";

export interface LoadConfigOptions {
  /** Reads DRIFTLESS_SOURCES_FILE; injected for tests. */
  readFile?: (path: string) => string;
}

/**
 * Validates every setting once, at start. A bad or missing value throws one ConfigError that
 * lists each problem with the name of its setting (never its value: some are secrets).
 */
export function loadConfig(env: Record<string, string | undefined>, options: LoadConfigOptions = {}): Config {
  const settings = orThrow(parseSettings(env));
  const { sources, targets } = orThrow(parseSourcesFile(settings, options.readFile ?? readUtf8, env));
  const [problem] = crossSettingProblems(settings);
  if (problem) throw new ConfigError(problem.setting, problem.message);

  return deepFreeze(toConfig(settings, sources, targets));
}

/** One thing wrong with the configuration, named by its setting (never quoting its value: some are secrets). */
export interface ConfigProblem {
  readonly setting: string;
  readonly message: string;
}

/** A parse that lists every problem instead of stopping at the first (`driftless config check` shows them all). */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Every setting of settingsSchema, blanks counting as unset. */
export function parseSettings(env: Record<string, string | undefined>): Parsed<Settings> {
  return parse(settingsSchema, withoutBlanks(env), (path) => path.join("."));
}

/**
 * Rules between settings: backoff and circuit ranges, TLS options only for a rediss:// REDIS_URL,
 * a namespace for the dead-letter mirror. All of them, in this order; loadConfig throws the first.
 */
export function crossSettingProblems(settings: Settings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (settings.QUEUE_BACKOFF_MAX_MS < settings.QUEUE_BACKOFF_BASE_MS) {
    problems.push({ setting: "QUEUE_BACKOFF_MAX_MS", message: "must not be smaller than QUEUE_BACKOFF_BASE_MS" });
  }
  const tls = new URL(settings.REDIS_URL).protocol === "rediss:";
  if (!tls && settings.REDIS_CA_FILE)
    problems.push({ setting: "REDIS_CA_FILE", message: "only applies to a rediss:// REDIS_URL" });
  if (!tls && settings.REDIS_TLS_INSECURE)
    problems.push({ setting: "REDIS_TLS_INSECURE", message: "only applies to a rediss:// REDIS_URL" });
  // WAIT holds the connection's reply: a wait as long as the command timeout would fail as a timeout, not as too few replicas.
  if (settings.REDIS_WAIT_REPLICAS > 0 && settings.REDIS_WAIT_TIMEOUT_MS >= settings.REDIS_COMMAND_TIMEOUT_MS) {
    problems.push({ setting: "REDIS_WAIT_TIMEOUT_MS", message: "must be shorter than REDIS_COMMAND_TIMEOUT_MS" });
  }
  if (settings.CIRCUIT_HALF_OPEN_MAX_MS < settings.CIRCUIT_HALF_OPEN_AFTER_MS) {
    problems.push({
      setting: "CIRCUIT_HALF_OPEN_MAX_MS",
      message: "must not be smaller than CIRCUIT_HALF_OPEN_AFTER_MS",
    });
  }
  if (
    settings.SERVICEBUS_DEADLETTER_QUEUE &&
    !settings.SERVICEBUS_NAMESPACE &&
    !settings.SERVICEBUS_CONNECTION_STRING
  ) {
    problems.push({
      setting: "SERVICEBUS_NAMESPACE",
      message: "required (or SERVICEBUS_CONNECTION_STRING) to mirror dead letters to SERVICEBUS_DEADLETTER_QUEUE",
    });
  }
  // The all-versions-and-deletes change feed reads from "now" or from a saved continuation only;
  // the service refuses a start from the beginning or from a time with 400
  // (https://learn.microsoft.com/azure/cosmos-db/nosql/change-feed-modes). Said at start, not as a
  // capture that fails on its first read.
  if (settings.CAPTURE_MODE === "allVersionsAndDeletes" && settings.CAPTURE_START_FROM !== "now") {
    problems.push({
      setting: "CAPTURE_START_FROM",
      message:
        "must be now with CAPTURE_MODE=allVersionsAndDeletes (the mode reads from now or a saved continuation only); run a reimport for what came before",
    });
  }
  return problems;
}

/** The sources from DRIFTLESS_SOURCES (JSON) or DRIFTLESS_SOURCES_FILE (a path to it), every problem of every source. */
export function parseSources(
  settings: Pick<Settings, "DRIFTLESS_SOURCES" | "DRIFTLESS_SOURCES_FILE">,
  readFile: (path: string) => string = readUtf8,
  env: Record<string, string | undefined> = {},
): Parsed<SourceConfig[]> {
  const parsed = parseSourcesFile(settings, readFile, env);
  return parsed.ok ? { ok: true, value: parsed.value.sources } : parsed;
}

/** What the sources file holds: the sources, and the named search targets they may write to. */
export interface SourcesFile {
  readonly sources: SourceConfig[];
  readonly targets: Record<string, TargetConfig>;
}

/**
 * The sources file: a list of sources (or one source), or `{"targets": {...}, "sources": [...]}`
 * when some sources write to another engine than the ELASTICSEARCH_* one. Target secrets are read
 * from `env` here, once.
 */
export function parseSourcesFile(
  settings: Pick<Settings, "DRIFTLESS_SOURCES" | "DRIFTLESS_SOURCES_FILE">,
  readFile: (path: string) => string,
  env: Record<string, string | undefined>,
): Parsed<SourcesFile> {
  const inline = settings.DRIFTLESS_SOURCES;
  const file = settings.DRIFTLESS_SOURCES_FILE;
  const fail = (setting: string, message: string): Parsed<never> => ({ ok: false, problems: [{ setting, message }] });
  if (inline && file)
    return fail("DRIFTLESS_SOURCES", "set either DRIFTLESS_SOURCES or DRIFTLESS_SOURCES_FILE, not both");
  if (!inline && !file)
    return fail("DRIFTLESS_SOURCES", "required (JSON list of sources), or DRIFTLESS_SOURCES_FILE (path to it)");
  const setting = inline ? "DRIFTLESS_SOURCES" : "DRIFTLESS_SOURCES_FILE";
  let text: string;
  try {
    text = inline ?? readFile(file!);
  } catch (error) {
    return fail(setting, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(setting, `not valid JSON (${(error as Error).message})`);
  }
  // `{targets, sources}`; else a list, or a single source given as an object (a source has no `sources` field).
  const withTargets = isObject(json) && "sources" in json ? json : undefined;
  const list = withTargets ? withTargets.sources : Array.isArray(json) ? json : [json];
  const listSetting = withTargets ? `${setting}.sources` : setting;
  const parsed = parse(sourcesSchema, list, (path) => `${listSetting}${formatPath(path)}`);
  const targets: Parsed<Record<string, TargetConfig>> = withTargets
    ? parseTargets(withTargets, `${setting}.targets`, env)
    : { ok: true, value: {} };
  if (!parsed.ok || !targets.ok)
    return { ok: false, problems: [parsed, targets].flatMap((p) => (p.ok ? [] : p.problems)) };
  const base = file ? dirname(resolve(file)) : process.cwd();
  const sources = parsed.value.map((source) => withTransformPath(source, base));
  const problems = [
    ...sources.flatMap((source, i) => transformProblems(source, `${listSetting}[${i}].transform.module`)),
    ...sources.flatMap((source, i) => targetProblems(source, targets.value, `${listSetting}[${i}].target`)),
  ];
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: { sources: sources.map(toSourceConfig), targets: targets.value } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseTargets(
  json: Record<string, unknown>,
  setting: string,
  env: Record<string, string | undefined>,
): Parsed<Record<string, TargetConfig>> {
  const unknown = Object.keys(json).filter((key) => key !== "sources" && key !== "targets");
  if (unknown.length > 0)
    return {
      ok: false,
      problems: [{ setting, message: `unknown top-level field ${unknown.join(", ")} (expected targets and sources)` }],
    };
  const parsed = parse(targetsSchema, json.targets ?? {}, (path) => `${setting}${formatPath(path)}`);
  if (!parsed.ok) return parsed;
  const problems: ConfigProblem[] = [];
  const targets: Record<string, TargetConfig> = {};
  for (const [name, definition] of Object.entries(parsed.value)) {
    const resolved = resolveTarget(name, definition, env);
    if (resolved.ok) targets[name] = resolved.value;
    else problems.push({ setting: `${setting}.${name}`, message: resolved.message });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: targets };
}

/** A source naming a target that is not defined: said at start, with the source and the known names. */
function targetProblems(
  source: SourceDefinition,
  targets: Record<string, TargetConfig>,
  setting: string,
): ConfigProblem[] {
  if (source.target === undefined || source.target === DEFAULT_TARGET || source.target in targets) return [];
  const known = [DEFAULT_TARGET, ...Object.keys(targets)].map((name) => `"${name}"`).join(", ");
  return [{ setting, message: `source "${source.name}": unknown target "${source.target}" (known: ${known})` }];
}

/** The transform module's path made absolute: relative to the sources file, or to the working directory for DRIFTLESS_SOURCES. */
function withTransformPath(source: SourceDefinition, base: string): SourceDefinition {
  const module = source.transform?.module;
  return module === undefined
    ? source
    : { ...source, transform: { ...source.transform, module: resolve(base, module) } };
}

/**
 * Loads the source's transform module once, here, so a module that is missing, does not load or
 * exports no function stops the start with its source and file named, instead of dead-lettering
 * every key of the source later.
 */
function transformProblems(source: SourceDefinition, setting: string): ConfigProblem[] {
  const { module, export: exportName = "default" } = source.transform ?? {};
  if (module === undefined) return [];
  try {
    loadTransform(module, exportName);
    return [];
  } catch (error) {
    if (!(error instanceof TransformLoadError)) throw error;
    return [{ setting, message: `source "${source.name}": cannot use transform module ${module}: ${error.message}` }];
  }
}

function parse<S extends z.ZodType>(
  schema: S,
  input: unknown,
  name: (path: readonly PropertyKey[]) => string,
): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) => {
    const setting = name(issue.path);
    const message =
      issue.code === "invalid_type" && /received undefined/.test(issue.message) ? "required" : issue.message;
    return { setting, message };
  });
  return { ok: false, problems };
}

/** One ConfigError for all the problems: named after the first, listing every one when there are several. */
function orThrow<T>(parsed: Parsed<T>): T {
  if (parsed.ok) return parsed.value;
  const { problems } = parsed;
  const first = problems[0]!;
  const error = new ConfigError(first.setting, first.message);
  if (problems.length > 1)
    error.message = `invalid configuration:\n${problems.map((p) => `  - ${p.setting}: ${p.message}`).join("\n")}`;
  throw error;
}

function readUtf8(path: string): string {
  return readFileSync(path, "utf8");
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
}

/** Values trimmed; an empty one counts as unset, as an unset variable in a .env file often is. */
export function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") out[key] = value.trim();
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
