import { Command, InvalidArgumentError } from "commander";
import { ValidationError } from "../../shared/core/errors.js";
import { withOperations } from "../operations/index.js";

/**
 * `driftless deadletters list|redrive|purge <source>`: the dead-letter routes of the HTTP API,
 * run in process through the same route logic (or at a deployment with --api-url), so the CLI
 * validates and answers as the API does.
 */
export function deadLettersCommand(): Command {
  // Settings set here are copied into the subcommands: usage errors come back to main as exit code 2.
  const command = new Command("deadletters")
    .description("list, redrive or purge a source's dead letters")
    .exitOverride()
    .showHelpAfterError();

  command
    .command("list")
    .description("dead letters with reason, attempts and last error, oldest first")
    .argument("<source>", "source name")
    .option("--offset <n>", "skip this many", nonNegativeInt, 0)
    .option("--limit <n>", "at most this many (1-1000)", nonNegativeInt, 100)
    .option("--json", "print the JSON the HTTP API returns")
    .action(async (source: string, options: { offset: number; limit: number; json?: boolean }) => {
      const body = (await call("deadletters-list", source, "", {
        offset: String(options.offset),
        limit: String(options.limit),
      })) as {
        total: number;
        items: {
          id: string;
          pk: unknown;
          reason: string;
          attempts: number;
          lastError: string;
          deadLetteredAt: string;
        }[];
      };
      if (options.json) return print(body);
      process.stdout.write(`${body.total} dead letter(s) in ${source}\n`);
      for (const item of body.items) {
        process.stdout.write(
          `${item.deadLetteredAt}  ${item.id}  pk=${JSON.stringify(item.pk)}  ${item.reason}  attempts=${item.attempts}  ${item.lastError.replace(/\s+/g, " ")}\n`,
        );
      }
    });

  command
    .command("redrive")
    .description("put dead letters back in the queue with their attempts reset: one key, or all of them")
    .argument("<source>", "source name")
    .argument("[id]", "document id (all dead letters when omitted)")
    .argument("[pk]", 'partition key as JSON ("tenant-1", 42, ["a","b"]); omit when the partition key is /id')
    .action(async (source: string, id: string | undefined, pk: string | undefined) => {
      print(
        await call("deadletters-redrive", source, JSON.stringify(id === undefined ? {} : { items: [item(id, pk)] })),
      );
    });

  command
    .command("purge")
    .description("delete dead letters for good: one key, or all of them with --all")
    .argument("<source>", "source name")
    .argument("[id]", "document id")
    .argument("[pk]", "partition key as JSON; omit when the partition key is /id")
    .option("--all", "purge every dead letter of the source")
    .action(async (source: string, id: string | undefined, pk: string | undefined, options: { all?: boolean }) => {
      if ((id === undefined) === !options.all) {
        throw new ValidationError("invalid_arguments", "name one key (<id> [pk]) or pass --all, not both");
      }
      print(
        await call(
          "deadletters-purge",
          source,
          JSON.stringify(options.all ? { all: true } : { items: [item(id!, pk)] }),
        ),
      );
    });

  return command;
}

async function call(
  routeName: string,
  source: string,
  body: string,
  query: Record<string, string> = {},
): Promise<unknown> {
  return withOperations((operations) =>
    operations.call(routeName, { params: { source }, query: new URLSearchParams(query), body }),
  );
}

/** With the partition key omitted, it is the id (sources partitioned by /id), as `enqueue` does. */
function item(id: string, pk: string | undefined): { id: string; pk: unknown } {
  if (pk === undefined) return { id, pk: id };
  try {
    return { id, pk: JSON.parse(pk) };
  } catch {
    return { id, pk };
  }
}

function print(body: unknown): void {
  process.stdout.write(`${JSON.stringify(body)}\n`);
}

function nonNegativeInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError("a whole number, 0 or more");
  return parsed;
}
