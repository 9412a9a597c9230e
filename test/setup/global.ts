import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startStack, type Stack } from "../../scripts/stack/stack.js";
import type { TestServices } from "./services.js";

/**
 * Starts one local stack for the whole run (or takes REDIS_URL, ELASTICSEARCH_URL, COSMOS_ENDPOINT
 * + COSMOS_KEY from the environment) and hands the endpoints to the tests through
 * `services()` in test/setup/services.ts.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "driftless-test-"));
  // Elasticsearch runs as `nobody` when the tests run as root; it has to reach its directory.
  await chmod(dir, 0o755);
  const startedAt = Date.now();
  let stack: Stack;
  try {
    stack = await startStack({ dir });
  } catch (error) {
    // The logs under dir are quoted in the error already; nothing else there is worth keeping.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const services: TestServices = {
    redisUrl: stack.redisUrl,
    elasticsearchUrl: stack.elasticsearchUrl,
    cosmos: stack.cosmos,
  };
  project.provide("services", services);
  const origin = (started: boolean): string => (started ? "started" : "from env");
  console.log(
    `[driftless] test stack ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${dir}): ` +
      `redis ${services.redisUrl} (${origin(stack.handles.redis !== undefined)}), ` +
      `elasticsearch ${services.elasticsearchUrl} (${origin(stack.handles.elasticsearch !== undefined)}), ` +
      `cosmos ${services.cosmos.endpoint} (${origin(stack.handles.cosmos !== undefined)})`,
  );

  return async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
