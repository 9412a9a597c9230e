import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/stack/ports.js";
import { invokeRoute, routeNamed } from "../../shared/api/index.js";
import { loadConfig } from "../../shared/config/index.js";
import { createCosmosClient } from "../../shared/cosmos/client.js";
import { createJobs } from "../../shared/jobs/index.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Job } from "../../shared/jobs/types.js";
import { jobDeps } from "../../shared/runtime/jobs.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const MAX_FAILURES = 3;

/**
 * A job whose every page fails for a reason that could pass (Cosmos not answering) is retried,
 * counted, and fails once the failures in a row reach the limit, with its last error where an
 * operator looks: the job store and GET /api/jobs/{id}.
 */
describe("a job that keeps failing", () => {
  let source: TestSource;
  let services: Services;

  beforeAll(async () => {
    source = await createTestSource();
    services = createServices(source.config, silentLogger);
    await services.ensureIndexes();
  });

  afterAll(async () => {
    await services?.close();
    await source?.dispose();
  });

  it(`fails after ${MAX_FAILURES} failures in a row, with its last error in the store and in GET /api/jobs/{id}`, async () => {
    const dead = createCosmosClient(
      loadConfig({
        ...source.env,
        COSMOS_ENDPOINT: `https://127.0.0.1:${await freePort()}`,
        COSMOS_REQUEST_TIMEOUT_MS: "2000",
      }).cosmos,
    );
    const { deps } = services.jobs as ReturnType<typeof createJobs>;
    const jobs = createJobs(
      jobDeps({
        redis: services.clients.redis,
        prefix: source.config.redis.keyPrefix,
        search: () => services.clients.elastic,
        cosmos: dead,
        sources: deps.sources,
        targets: deps.targets,
        clock: deps.clock,
        logger: silentLogger,
        options: { ...deps.options, maxFailures: MAX_FAILURES },
      }),
    );
    try {
      const started = await jobs.start("reimport", source.name);
      const seen: { state: string; errors: number }[] = [];
      let job: Job | undefined = started;
      for (let chunk = 0; chunk < 20 && job && !isTerminal(job.state); chunk++) {
        await jobs.runChunk(started.id, 20_000);
        job = await jobs.get(started.id);
        seen.push({ state: job!.state, errors: job!.errors });
      }
      // Running, with one error more per failed chunk, until the limit: then failed.
      expect(seen.slice(0, MAX_FAILURES - 1)).toEqual(
        Array.from({ length: MAX_FAILURES - 1 }, (_, i) => ({ state: "running", errors: i + 1 })),
      );
      expect(seen.at(-1)!.state).toBe("failed");
      expect(seen).toHaveLength(MAX_FAILURES);
      expect(job!.lastError).toMatch(/ECONNREFUSED|connect|cosmos/i);

      // What an operator sees: the job route with the key shows the last error.
      const api = { ...services, jobs };
      const response = await invokeRoute(routeNamed("job-status"), api, {
        method: "GET",
        params: { jobId: started.id },
        query: new URLSearchParams(),
        body: "",
      });
      expect(response).toMatchObject({
        status: 200,
        body: { jobId: started.id, state: "failed", lastError: job!.lastError },
      });
    } finally {
      dead.dispose();
    }
  }, 120_000);
});
