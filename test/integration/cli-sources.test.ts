import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { createElasticClient } from "../../shared/elastic/index.js";
import { services, uniqueName } from "../setup/services.js";

function driftless(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The CLI's environment for these sources on the test stack, and clients to look at what it did. */
function onTheStack(prefix: string, sources: unknown[]) {
  const stack = services();
  const env: Record<string, string> = {
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: uniqueName(prefix),
    ELASTICSEARCH_URL: stack.elasticsearchUrl,
    COSMOS_ENDPOINT: stack.cosmos.endpoint,
    COSMOS_KEY: stack.cosmos.key,
    ...(stack.cosmos.caFile ? { COSMOS_CA_FILE: stack.cosmos.caFile } : {}),
    DRIFTLESS_SOURCES: JSON.stringify(sources),
  };
  const cosmos = createCosmosClient({
    endpoint: stack.cosmos.endpoint,
    key: stack.cosmos.key,
    ...(stack.cosmos.caFile ? { caFile: stack.cosmos.caFile } : {}),
  });
  return { env, cosmos, elastic: createElasticClient({ node: stack.elasticsearchUrl }) };
}

/**
 * `driftless sources apply` against the local stack: it creates what the sources file names and
 * nothing else, and a second run changes nothing. The Docker path and a real account need it, since
 * only `make dev` used to create the demo's containers.
 */
describe("driftless sources apply", () => {
  it("creates each source's database, container (hierarchical too) and lease container, and its alias; again, it changes nothing", async () => {
    const database = uniqueName("apply");
    const sources = [
      { name: "flat", database, container: "orders", partitionKeyPath: "/tenant", index: uniqueName("apply-flat") },
      {
        name: "nested",
        database,
        container: "events",
        partitionKeyPath: ["/tenant", "/region"],
        index: uniqueName("apply-nested"),
      },
    ];
    const { env, cosmos, elastic } = onTheStack("apply", sources);
    try {
      const first = driftless(["sources", "apply", "--json"], env);
      expect(first.code, first.stderr).toBe(0);
      const answer = JSON.parse(first.stdout) as {
        containers: { container: string; created: boolean }[];
        problems: string[];
      };
      expect(answer.problems).toEqual([]);
      expect(answer.containers.map((c) => [c.container, c.created])).toEqual([
        ["orders", true],
        ["leases", true],
        ["events", true],
        ["leases", false],
      ]);
      const { resource: events } = await cosmos.database(database).container("events").read();
      expect(events?.partitionKey).toMatchObject({ paths: ["/tenant", "/region"], kind: "MultiHash" });
      for (const source of sources) expect(await elastic.indices.existsAlias({ name: source.index })).toBe(true);

      const again = driftless(["sources", "apply"], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/^created/m);
      expect(again.stdout).toMatch(/^exists +cosmos .*\/events$/m);
    } finally {
      await cosmos
        .database(database)
        .delete()
        .catch(() => undefined);
      for (const source of sources)
        await elastic.indices.delete({ index: `${source.index}-*`, ignore_unavailable: true }).catch(() => undefined);
      await elastic.close();
      cosmos.dispose();
    }
  }, 240_000);

  it("reports a container that a relation reads and that does not exist, and creates it not; once it exists, all is well", async () => {
    const database = uniqueName("apply-rel");
    const module = fileURLToPath(new URL("../fixtures/transforms/orders-with-customer.js", import.meta.url));
    const source = {
      name: "orders",
      database,
      container: "orders",
      partitionKeyPath: "/tenant",
      index: uniqueName("apply-rel"),
      transform: { module },
      relations: [{ name: "customer", container: "customers", foreignKey: "customerId" }],
    };
    const { env, cosmos, elastic } = onTheStack("apply-rel", [source]);
    try {
      const first = driftless(["sources", "apply"], env);
      expect(first.code, first.stderr).toBe(1);
      expect(first.stdout).toMatch(
        new RegExp(`^missing +cosmos ${database}/customers +PROBLEM: .*relations of orders read, does not exist`, "m"),
      );
      const { statusCode } = await cosmos
        .database(database)
        .container("customers")
        .read()
        .catch((error) => error);
      expect(statusCode ?? 404).toBe(404);

      await cosmos.database(database).containers.create({ id: "customers", partitionKey: { paths: ["/id"] } });
      const again = driftless(["sources", "apply"], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(new RegExp(`^exists +cosmos ${database}/customers$`, "m"));
    } finally {
      await cosmos
        .database(database)
        .delete()
        .catch(() => undefined);
      await elastic.indices.delete({ index: `${source.index}-*`, ignore_unavailable: true }).catch(() => undefined);
      await elastic.close();
      cosmos.dispose();
    }
  }, 240_000);
});
