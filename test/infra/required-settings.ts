import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { settingsSchema } from "../../shared/config/settings.js";
import { repoRoot } from "./bicep-tree.js";

/**
 * The settings driftless cannot start without, read from the schema at test time so a setting
 * added to shared/config/settings.ts is checked here without editing this file: every key that
 * rejects `undefined` has neither a default nor `.optional()`.
 */
export function schemaRequiredSettings(): string[] {
  return Object.entries(settingsSchema.shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([key]) => key)
    .sort();
}

/** loadConfig needs one of these (checked in load-config.ts, not in the schema). */
export const SOURCES_SETTINGS = ["DRIFTLESS_SOURCES", "DRIFTLESS_SOURCES_FILE"] as const;

export const schemaKeys = (): Set<string> => new Set(Object.keys(settingsSchema.shape));

/** Whether `value` is a valid value of setting `key` (undefined when the schema does not know it). */
export function validSettingValue(key: string, value: string): boolean | undefined {
  const schema = (settingsSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>)[key];
  return schema ? schema.safeParse(value).success : undefined;
}

/**
 * App settings the Functions host resolves itself: `%NAME%` in a trigger option (the timer's
 * schedule). The host fails to index the function when such a setting is missing, defaults in
 * driftless notwithstanding.
 */
export function hostResolvedSettings(): string[] {
  const dir = join(repoRoot, "functions");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    for (const match of readFileSync(join(dir, file), "utf8").matchAll(/"%([A-Za-z0-9_]+)%"/g)) names.add(match[1]!);
  }
  return [...names].sort();
}

/**
 * Connection names written as literals in a trigger's options (`connection: "SERVICEBUS"`): the
 * host reads `<name>__fullyQualifiedNamespace` and friends from app settings. The Cosmos trigger's
 * name is a setting itself (COSMOS_TRIGGER_CONNECTION).
 */
export function triggerConnections(): string[] {
  const dir = join(repoRoot, "functions");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    for (const match of readFileSync(join(dir, file), "utf8").matchAll(/connection:\s*"([A-Za-z0-9_]+)"/g))
      names.add(match[1]!);
  }
  return [...names].sort();
}
