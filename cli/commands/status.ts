import { Command } from "commander";
import { withOperations } from "../operations/index.js";

export function statusCommand(): Command {
  return new Command("status")
    .description("queue depth, in-flight keys, dead letters and lag per source")
    .option("--json", "print the JSON the status endpoint returns")
    .action(async (options: { json?: boolean }) => {
      await withOperations(async (operations) => {
        const body = await operations.call("status");
        const { sources } = body as { sources: Record<string, unknown>[] };
        if (options.json) {
          process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
          return;
        }
        console.table(
          sources.map(({ name, pending, inflight, deadLettered, oldestPendingAgeMs, lastSyncAt }) => ({
            source: name,
            pending,
            inflight,
            deadLettered,
            lagMs: oldestPendingAgeMs,
            lastSyncAt,
          })),
        );
      });
    });
}
