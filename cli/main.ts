#!/usr/bin/env -S node --
import { Command } from "commander";
import { configCommand } from "./commands/config.js";
import { deadLettersCommand } from "./commands/deadletters.js";
import { enqueueCommand } from "./commands/enqueue.js";
import { jobsCommand, reconcileCommand, reimportCommand } from "./commands/jobs.js";
import { sourcesCommand } from "./commands/sources.js";
import { stackCommand } from "./commands/stack.js";
import { statusCommand } from "./commands/status.js";
import { syncCommand } from "./commands/sync.js";
import { workerCommand } from "./commands/worker.js";
import { loadEnvFile, loadLocalSettings } from "./env-file.js";
import { errorLine, exitCodeFor } from "./exit-codes.js";
import { chooseOperations } from "./operations/index.js";
import { packageVersion } from "./version.js";

const program = new Command("driftless")
  .description("Keep Elasticsearch in step with Azure Cosmos DB")
  .version(packageVersion(), "-V, --version", "print the version")
  .option("--env-file <path>", "read settings from a KEY=value file (the environment wins)")
  .option(
    "--api-url <url>",
    "run status, jobs, deadletters, enqueue, reimport and reconcile through this deployment's HTTP API (or DRIFTLESS_API_URL)",
  )
  .option(
    "--api-key <key>",
    "the key for --api-url, sent as x-functions-key (or DRIFTLESS_API_KEY, which keeps it out of the process list)",
  )
  .showHelpAfterError()
  .exitOverride()
  .hook("preAction", (command) => {
    const options = command.opts<{ envFile?: string; apiUrl?: string; apiKey?: string }>();
    // Precedence: the environment, then --env-file, then local.settings.json's Values: each fills only what is still unset.
    if (options.envFile) loadEnvFile(options.envFile);
    loadLocalSettings();
    chooseOperations(options);
  });

program.addCommand(workerCommand());
program.addCommand(statusCommand());
program.addCommand(enqueueCommand());
program.addCommand(syncCommand());
program.addCommand(reimportCommand());
program.addCommand(reconcileCommand());
program.addCommand(jobsCommand());
program.addCommand(deadLettersCommand());
program.addCommand(configCommand());
program.addCommand(sourcesCommand());
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
  // One readable line on stderr and an exit code scripts can rely on (see exit-codes.ts).
  const line = errorLine(error);
  if (line !== null) process.stderr.write(`${line}\n`);
  process.exitCode = exitCodeFor(error);
}
