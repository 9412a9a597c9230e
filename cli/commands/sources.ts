import { Command } from "commander";
import { relatedContainers } from "../../shared/capture/relations.js";
import { checkRelatedContainers, provisionSource, type ProvisionedContainer } from "../../shared/cosmos/provision.js";
import { withServices } from "./with-services.js";

/**
 * `driftless sources apply`: makes every configured source ready to capture and sync, against
 * the local emulator or a real account: its database, container and lease container in Cosmos DB,
 * and its index and alias in Elasticsearch. Safe to run again; it changes nothing that exists.
 */
export function sourcesCommand(): Command {
  const sources = new Command("sources").description("the configured sources");
  sources
    .command("apply")
    .description("create each source's Cosmos database, container and lease container, and its index, where missing")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      await withServices(async (services) => {
        const containers: ProvisionedContainer[] = [];
        for (const source of services.config.sources) {
          containers.push(
            ...(await provisionSource(services.clients.cosmos, source, services.config.cosmos.leaseContainer)),
          );
        }
        containers.push(
          ...(await checkRelatedContainers(services.clients.cosmos, relatedContainers(services.config.sources))),
        );
        const incompatible = await services.ensureIndexes();
        const indexes = services.config.sources.map((source) => ({
          source: source.name,
          alias: source.index,
          ...(incompatible.some((error) => error.alias === source.index)
            ? { problem: `the mapping needs a rebuild (driftless reimport ${source.name} --rebuild)` }
            : {}),
        }));
        const problems = [
          ...containers.flatMap((c) => (c.problem ? [c.problem] : [])),
          ...indexes.flatMap((i) => (i.problem ? [`${i.alias}: ${i.problem}`] : [])),
        ];
        if (options.json) process.stdout.write(`${JSON.stringify({ containers, indexes, problems }, null, 2)}\n`);
        else {
          for (const c of containers)
            process.stdout.write(
              `${c.created ? "created" : c.missing ? "missing" : "exists "}  cosmos ${c.database}/${c.container}${c.problem ? `  PROBLEM: ${c.problem}` : ""}\n`,
            );
          for (const i of indexes)
            process.stdout.write(
              `ready    elasticsearch alias ${i.alias} (source ${i.source})${i.problem ? `  PROBLEM: ${i.problem}` : ""}\n`,
            );
        }
        if (problems.length > 0) process.exitCode = 1;
      });
    });
  return sources;
}
