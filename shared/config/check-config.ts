import { readFileSync } from "node:fs";
import {
  crossSettingProblems,
  parseSettings,
  parseSources,
  withoutBlanks,
  type ConfigProblem,
  type LoadConfigOptions,
} from "./load-config.js";
import { secretSettings, settingsSchema } from "./settings.js";
import type { SourceConfig } from "./source.js";

export interface SettingView {
  /** The value driftless takes (its default when unset, the raw text when invalid), secrets redacted; null when unset with no default. */
  readonly value: string | number | boolean | null;
  readonly from: "environment" | "default" | "unset";
}

export interface ConfigReport {
  /** Every setting driftless reads, in settingsSchema's order. */
  readonly settings: Readonly<Record<string, SettingView>>;
  /** The sources, when they parse. */
  readonly sources: readonly SourceConfig[];
  /** Every problem found; none means loadConfig accepts this environment. */
  readonly problems: readonly ConfigProblem[];
}

export const REDACTED = "[redacted]";

/**
 * What loadConfig would make of `env`, for `driftless config check`: each setting's value and
 * where it comes from, the sources, and every problem at once (loadConfig stops at the first
 * kind). Rules between settings are checked once each setting is valid on its own. CA files are
 * opened too: loadConfig leaves that to the first connection.
 */
export function checkConfig(env: Record<string, string | undefined>, options: LoadConfigOptions = {}): ConfigReport {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const raw = withoutBlanks(env);
  const problems: ConfigProblem[] = [];
  const settings = parseSettings(env);
  if (!settings.ok) problems.push(...settings.problems);
  const sources = parseSources(
    { DRIFTLESS_SOURCES: raw.DRIFTLESS_SOURCES, DRIFTLESS_SOURCES_FILE: raw.DRIFTLESS_SOURCES_FILE },
    readFile,
    raw,
  );
  if (!sources.ok) problems.push(...sources.problems);
  if (settings.ok) problems.push(...crossSettingProblems(settings.value));
  for (const setting of ["REDIS_CA_FILE", "ELASTICSEARCH_CA_FILE", "COSMOS_CA_FILE"]) {
    const path = raw[setting];
    if (path === undefined) continue;
    try {
      readFile(path);
    } catch (error) {
      problems.push({ setting, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` });
    }
  }
  return { settings: settingViews(raw), sources: sources.ok ? sources.value : [], problems };
}

function settingViews(raw: Record<string, string>): Record<string, SettingView> {
  const views: Record<string, SettingView> = {};
  for (const [name, schema] of Object.entries(settingsSchema.shape)) {
    const given = raw[name];
    const parsed = schema.safeParse(given);
    const value = parsed.success ? parsed.data : given;
    views[name] = {
      value: value === undefined ? null : redact(name, value),
      from: given !== undefined ? "environment" : value === undefined ? "unset" : "default",
    };
  }
  return views;
}

/** Keys, passwords, tokens and connection strings by name, whatever the list of secret settings says. */
const SECRET_NAME = /(_KEY|PASSWORD|SECRET|TOKEN|CONNECTION_STRING|HEADERS)$/;

/**
 * A URL setting shows with its credentials redacted (a REDIS_URL's host is worth seeing, its
 * password is not); any other secret setting shows as [redacted].
 */
function redact(name: string, value: unknown): string | number | boolean {
  if (typeof value === "string" && /(_URL|_ENDPOINT)$/.test(name)) {
    const url = withoutCredentials(value);
    if (url !== undefined) return url;
  }
  if (secretSettings.has(name) || SECRET_NAME.test(name)) return REDACTED;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The URL as given when it carries no credentials; else with its password (or a lone user name, which may be the key) redacted. */
function withoutCredentials(value: string): string | undefined {
  try {
    new URL(value);
  } catch {
    return undefined;
  }
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_, scheme: string, userInfo: string) => {
    const colon = userInfo.indexOf(":");
    return `${scheme}${colon >= 0 ? `${userInfo.slice(0, colon)}:${REDACTED}` : REDACTED}@`;
  });
}
