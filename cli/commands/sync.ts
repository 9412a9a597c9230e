import { Command, InvalidArgumentError } from "commander";
import { runSyncPass } from "../../shared/sync/pass.js";
import { withServices } from "./with-services.js";

export function syncCommand(): Command {
  return new Command("sync")
    .description("drain the queue once, as the timer function does, and print what was done")
    .option("--budget <ms>", "stop claiming after this many milliseconds", positiveInt, 25_000)
    .option("--until-idle", "stop as soon as nothing is due")
    .action(async (options: { budget: number; untilIdle?: boolean }) => {
      await withServices(async (services) => {
        await services.ensureIndexes();
        const report = await runSyncPass(services, { budgetMs: options.budget, untilIdle: options.untilIdle });
        process.stdout.write(`${JSON.stringify(report)}\n`);
      });
    });
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError("a positive whole number of milliseconds");
  return parsed;
}
