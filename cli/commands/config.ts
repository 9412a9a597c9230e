import { Command } from "commander";
import { checkConfig, type ConfigReport } from "../../shared/config/index.js";
import { DriftlessError } from "../../shared/core/errors.js";

/**
 * `driftless config check [--json]`: the configuration this environment (and --env-file) gives,
 * secrets redacted, and every problem in it. Exits 3 when there is one, as any command would on
 * that configuration; connects to nothing.
 */
export function configCommand(): Command {
  const config = new Command("config")
    .description("inspect the configuration driftless reads from the environment")
    .exitOverride()
    .showHelpAfterError();
  config
    .command("check")
    .description(
      "print the resolved settings (secrets redacted) and the sources, list every problem; exit 3 when there is one",
    )
    .option("--json", 'print {"valid","settings","sources","problems"}')
    .action((options: { json?: boolean }) => {
      const report = checkConfig(process.env);
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ valid: report.problems.length === 0, ...report }, null, 2)}\n`
          : text(report),
      );
      const { problems } = report;
      if (problems.length > 0) {
        const names = [...new Set(problems.map((p) => p.setting))].join(", ");
        throw new DriftlessError(
          "config_invalid",
          `${problems.length} problem${problems.length === 1 ? "" : "s"}: ${names}`,
        );
      }
    });
  return config;
}

function text({ settings, sources, problems }: ConfigReport): string {
  const width = Math.max(...Object.keys(settings).map((name) => name.length));
  const lines = ["settings (secrets redacted):"];
  for (const [name, { value, from }] of Object.entries(settings)) {
    const shown = value === null ? "-" : String(value);
    lines.push(`  ${name.padEnd(width)}  ${shown}${from === "environment" ? "" : `  (${from})`}`);
  }
  lines.push("", `sources (${sources.length}):`);
  for (const source of sources) {
    lines.push(
      `  ${source.name}: Cosmos ${source.database}/${source.container} (partition key ${source.partitionKeyPaths.join(", ")}) -> alias ${source.index}`,
    );
  }
  lines.push("", problems.length === 0 ? "no problems" : `problems (${problems.length}):`);
  for (const { setting, message } of problems) lines.push(`  ${setting}: ${message}`);
  return `${lines.join("\n")}\n`;
}
