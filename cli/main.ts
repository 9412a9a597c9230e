#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { DriftlessError } from "../shared/core/errors.js";
import { deadLettersCommand } from "./commands/deadletters.js";
import { enqueueCommand } from "./commands/enqueue.js";
import { jobsCommand, reconcileCommand, reimportCommand } from "./commands/jobs.js";
import { stackCommand } from "./commands/stack.js";
import { statusCommand } from "./commands/status.js";
import { syncCommand } from "./commands/sync.js";
import { workerCommand } from "./commands/worker.js";
import { EXIT } from "./exit-codes.js";

const program = new Command("driftless")
  .description("Keep Elasticsearch in step with Azure Cosmos DB")
  .option("--env-file <path>", "read settings from a KEY=value file before the environment")
  .showHelpAfterError()
  .exitOverride()
  .hook("preAction", (command) => {
    const envFile = command.opts<{ envFile?: string }>().envFile;
    if (envFile) process.loadEnvFile(envFile);
  });

program.addCommand(workerCommand());
program.addCommand(statusCommand());
program.addCommand(enqueueCommand());
program.addCommand(syncCommand());
program.addCommand(reimportCommand());
program.addCommand(reconcileCommand());
program.addCommand(jobsCommand());
program.addCommand(deadLettersCommand());
program.addCommand(stackCommand());

// Commands built apart and added with addCommand do not inherit exitOverride: without it a
// usage error in a subcommand would exit 1 from inside commander instead of 2.
const overrideExits = (command: Command): void => {
  command.exitOverride();
  command.commands.forEach(overrideExits);
};
overrideExits(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

/** One readable line on stderr and an exit code scripts can rely on (see exit-codes.ts). */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof DriftlessError) {
    process.stderr.write(`driftless: ${error.code}: ${error.message.replace(/\n\s*/g, " ")}\n`);
    return error.code === "config_invalid" ? EXIT.config : error.retryable ? EXIT.unavailable : EXIT.failure;
  }
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(`driftless: ${code ? `${code}: ` : ""}${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.failure;
}
