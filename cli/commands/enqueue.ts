import { Command } from "commander";
import { withOperations } from "../operations/index.js";

export function enqueueCommand(): Command {
  return new Command("enqueue")
    .description("enqueue document keys for sync, as the HTTP producer does")
    .argument("<source>", "source name")
    .argument("<id>", "document id")
    .argument("[pk]", 'partition key value as JSON ("tenant-1", 42, ["a","b"]); omit when the partition key is /id')
    .action(async (sourceName: string, id: string, pk: string | undefined) => {
      // The enqueue route itself, so the key is checked (and counted) exactly as the HTTP producer's would be.
      const item = pk === undefined ? { id } : { id, pk: parsePk(pk) };
      const { enqueued, duplicates } = (await withOperations((operations) =>
        operations.call("enqueue", { params: { source: sourceName }, body: JSON.stringify({ items: [item] }) }),
      )) as { enqueued: number; duplicates: number };
      process.stdout.write(`${JSON.stringify({ enqueued, duplicates })}\n`);
    });
}

/** Accepts JSON, and a bare word as a string, since shell quoting of JSON strings is tedious. */
function parsePk(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
