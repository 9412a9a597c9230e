import { Command } from "commander";
import { NotFoundError } from "../../shared/core/errors.js";
import { parseEnqueueBody } from "../../shared/api/index.js";
import { withServices } from "./with-services.js";

export function enqueueCommand(): Command {
  return new Command("enqueue")
    .description("enqueue document keys for sync, as the HTTP producer does")
    .argument("<source>", "source name")
    .argument("<id>", "document id")
    .argument("[pk]", "partition key value as JSON (\"tenant-1\", 42, [\"a\",\"b\"]); omit when the partition key is /id")
    .action(async (sourceName: string, id: string, pk: string | undefined) => {
      await withServices(async (services) => {
        const source = services.sources.get(sourceName);
        if (!source) throw new NotFoundError("unknown_source", `no source named "${sourceName}"`);
        const item = pk === undefined ? { id } : { id, pk: parsePk(pk) };
        const keys = parseEnqueueBody(JSON.stringify({ items: [item] }), source.config, 1);
        const { enqueued, duplicates } = await source.queue.enqueue(keys, { lane: "live", now: services.clock.now() });
        process.stdout.write(`${JSON.stringify({ enqueued, duplicates })}\n`);
      });
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
