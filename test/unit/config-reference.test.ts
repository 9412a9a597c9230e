import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkConfig, REDACTED } from "../../shared/config/index.js";
import { settingsReference, settingsTable } from "../../shared/config/reference.js";
import { settingsSchema } from "../../shared/config/settings.js";
import { CONFIG_DOC, END, START, withSettingsTable } from "../../scripts/docs-config.js";
import { BASE_ENV } from "../setup/config-env.js";

/** The configuration reference is generated from settingsSchema; these fail when it drifts from it. */
describe("configuration reference", () => {
  it("docs/configuration.md holds the table settingsSchema gives now (run `npm run docs:config`)", () => {
    const doc = readFileSync(CONFIG_DOC, "utf8");
    expect(doc).toBe(withSettingsTable(doc));
  });

  it("has one row per setting, each with a description, in the schema's order", () => {
    const names = Object.keys(settingsSchema.shape);
    expect(settingsReference().map((setting) => setting.name)).toEqual(names);
    for (const setting of settingsReference()) expect(setting.description.length, setting.name).toBeGreaterThan(10);
    expect(settingsTable().split("\n")).toHaveLength(names.length + 2);
  });

  it("shows as default the value driftless takes when a setting is unset", () => {
    const { settings } = checkConfig(BASE_ENV);
    const reference = new Map(settingsReference().map((setting) => [setting.name, setting]));
    const defaulted = Object.entries(settings).filter(([, view]) => view.from === "default");
    expect(defaulted.length).toBeGreaterThan(40);
    for (const [name, view] of defaulted) {
      // An empty list (DRIFTLESS_ALLOWED_HOSTS) shows as `[]` in the config check and as unset in the table.
      const shown = view.value === "[]" ? "–" : `\`${String(view.value)}\``;
      expect(reference.get(name)?.default, name).toBe(shown);
    }
    expect(reference.get("SYNC_BATCH_SIZE")).toMatchObject({ type: "integer ≥ 1", default: "`1000`" });
    expect(reference.get("QUEUE_BULK_SHARE")).toMatchObject({ type: "number 0 to 1", default: "`0.1`" });
    expect(reference.get("REDIS_URL")?.default).toBe("required");
    expect(reference.get("COSMOS_KEY")?.default).toBe("–");
    expect(reference.get("CAPTURE_MODE")?.type).toBe("one of `latestVersion`, `allVersionsAndDeletes`");
  });

  it("marks the settings whose values are never printed, and config check redacts them", () => {
    const secret = settingsReference()
      .filter((setting) => setting.secret)
      .map((setting) => setting.name);
    expect(secret.sort()).toEqual(
      [
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "COSMOS_KEY",
        "DRIFTLESS_API_KEY",
        "ELASTICSEARCH_API_KEY",
        "ELASTICSEARCH_PASSWORD",
        "LOG_ELASTICSEARCH_API_KEY",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "REDIS_URL",
        "SERVICEBUS_CONNECTION_STRING",
      ].sort(),
    );
    expect(settingsTable()).toContain("| `COSMOS_KEY` | string, secret | – |");
    const { settings } = checkConfig({
      ...BASE_ENV,
      ELASTICSEARCH_API_KEY: "an-api-key-value",
      REDIS_URL: "redis://:pw-value@127.0.0.1:6379",
    });
    expect(settings.ELASTICSEARCH_API_KEY?.value).toBe(REDACTED);
    expect(settings.REDIS_URL?.value).toBe(`redis://:${REDACTED}@127.0.0.1:6379`);
  });

  it("replaces a stale table between the markers and leaves the prose around it", () => {
    const doc = `# Title\n\nProse before.\n\n${START}\n\n| old | table |\n\n${END}\n\nProse after.\n`;
    const next = withSettingsTable(doc);
    expect(next).not.toContain("| old | table |");
    expect(next).toContain(settingsTable());
    expect(next.startsWith("# Title\n\nProse before.\n\n")).toBe(true);
    expect(next.endsWith(`${END}\n\nProse after.\n`)).toBe(true);
    expect(withSettingsTable(next)).toBe(next);
    expect(() => withSettingsTable("# no markers\n")).toThrow(/needs the markers/);
  });
});
