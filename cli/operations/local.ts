import { sleep } from "../../shared/core/clock.js";
import { DriftlessError } from "../../shared/core/errors.js";
import { countDocuments } from "../../shared/elastic/aliases.js";
import { isTerminal } from "../../shared/jobs/store.js";
import type { Services } from "../../shared/runtime/services.js";
import { callRoute } from "../commands/route.js";
import type { Operations } from "./types.js";

const POLL_MS = 500;
const CHUNK_MS = 60_000;

/** The operations against the configured services, in this process (the routes' own logic). */
export function localOperations(services: Services): Operations {
  return {
    where: "local",
    call: (route, request = {}) => callRoute(services, route, request),
    async startJob(kind, source, mode) {
      // A job writes into the source's alias: it must exist before the job's first page, as the worker ensures at start.
      if (services.sources.has(source)) await services.ensureIndexes();
      const body = kind === "reimport" && mode ? JSON.stringify({ mode }) : "";
      return (await callRoute(services, kind, { params: { source }, body })) as { jobId: string };
    },
    async workOnJob(jobId, signal) {
      while (!signal.aborted) {
        try {
          const { job } = await services.jobs.runChunk(jobId, CHUNK_MS, { signal });
          if (!job || isTerminal(job.state)) return;
        } catch (error) {
          // The job records its own failures; a failure here (Redis down) is retried after a pause.
          if (!(error instanceof DriftlessError)) throw error;
        }
        await sleep(POLL_MS, signal);
      }
    },
    async documentCount(source) {
      const config = services.sources.get(source)?.config;
      return config
        ? countDocuments(
            services.clients.search.forTarget(config.target),
            config.index,
            config.sharedIndex ? config.name : undefined,
          ).catch(() => undefined)
        : undefined;
    },
  };
}
