import { z } from "zod";
import { secretSettings, settingsSchema } from "./settings.js";

/** One setting as the configuration reference shows it, read from settingsSchema alone. */
export interface SettingReference {
  readonly name: string;
  /** What the environment variable takes: `integer ≥ 100`, `number 0 to 1`, `boolean`, a list of values, `string`. */
  readonly type: string;
  /** `required`, `–` (unset by default), or the value driftless takes when it is unset. */
  readonly default: string;
  readonly description: string;
  /** Never printed: `driftless config check` shows it redacted. */
  readonly secret: boolean;
}

interface JsonSchemaProperty {
  readonly type?: string;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
}

const FLAG_VALUES = ["0", "1", "false", "true"];

/** Every setting, in settingsSchema's order. The type is what the variable takes (the schema's input side). */
export function settingsReference(): SettingReference[] {
  const inputs = z.toJSONSchema(settingsSchema, { io: "input", unrepresentable: "any" }).properties as Record<
    string,
    JsonSchemaProperty
  >;
  return Object.entries(settingsSchema.shape).map(([name, schema]) => {
    const unset = schema.safeParse(undefined);
    const fallback = unset.success ? unset.data : undefined;
    const description = schema.description;
    if (!description) throw new Error(`setting ${name} has no description: add .describe(…) in settings.ts`);
    return {
      name,
      type: typeOf(inputs[name] ?? {}),
      default: !unset.success ? "required" : isUnset(fallback) ? "–" : `\`${String(fallback)}\``,
      description,
      secret: secretSettings.has(name),
    };
  });
}

/** The settings as a Markdown table (docs/configuration.md). */
export function settingsTable(settings: readonly SettingReference[] = settingsReference()): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  return [
    "| Setting | Type | Default | Meaning |",
    "| --- | --- | --- | --- |",
    ...settings.map(
      (s) =>
        `| \`${s.name}\` | ${cell(s.type)}${s.secret ? ", secret" : ""} | ${cell(s.default)} | ${cell(s.description)} |`,
    ),
  ].join("\n");
}

function isUnset(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

function typeOf(property: JsonSchemaProperty): string {
  if (property.enum) {
    if ([...property.enum].sort().join() === FLAG_VALUES.join()) return "boolean (`true`/`false`, `1`/`0`)";
    return `one of ${property.enum.map((value) => `\`${value}\``).join(", ")}`;
  }
  if (property.type === "integer" || property.type === "number") {
    const kind = property.type;
    const max =
      property.maximum !== undefined && property.maximum < Number.MAX_SAFE_INTEGER ? property.maximum : undefined;
    if (property.minimum !== undefined && max !== undefined) return `${kind} ${property.minimum} to ${max}`;
    if (property.minimum !== undefined) return `${kind} ≥ ${property.minimum}`;
    return kind;
  }
  return "string";
}
