import { getHeapStatistics } from "node:v8";
import type { Config } from "../config/load-config.js";
import { sleep, type Clock } from "../core/clock.js";
import { ConfigError, describeError } from "../core/errors.js";
import { startCapture } from "../runtime/start-capture.js";
import { runJobLoop } from "../jobs/loop.js";
import { createServices, type Services, type ServicesOptions } from "../runtime/services.js";
import { drain } from "../sync/drain.js";
import type { SyncDeps } from "../sync/types.js";
import type { Logger } from "../telemetry/logger.js";
import { createApiListener } from "./http-server.js";
import { listen } from "./listen.js";

export interface WorkerHandle {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:7071/api */
  readonly url: string;
  readonly services: Services;
  /** Graceful stop: no new claims, in-flight batches finish and settle, then connections close. */
  stop(): Promise<void>;
}

export interface WorkerOptions extends ServicesOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Worker mode: one long-lived process hosting the HTTP API, a change-feed reader and a drain
 * loop per source, and the lease reaper. The API is up at once; the sync starts once every index exists, so enqueueing
 * works while Elasticsearch is still coming up.
 */
export async function startWorker(
  config: Config,
  { logger, clock, ...servicesOptions }: WorkerOptions,
): Promise<WorkerHandle> {
  if (!config.api.apiKey && !LOOPBACK.has(config.worker.host)) {
    throw new ConfigError(
      "DRIFTLESS_API_KEY",
      `required when WORKER_HOST is not loopback (it is ${config.worker.host})`,
    );
  }
  const services = createServices(config, logger, clock, servicesOptions);
  const stopping = new AbortController();
  const listener = createApiListener({
    services,
    logger,
    apiKey: config.api.apiKey,
    allowedHosts: config.worker.allowedHosts,
    metricsText: async () => (await services.metrics.prometheusText()) ?? "",
    tracer: services.tracing.tracer,
  });
  const server = await listen(listener, config.worker.host, config.worker.port).catch(async (error: unknown) => {
    await services.close();
    throw error;
  });
  const port = server.port;
  const host = config.worker.host.includes(":") ? `[${config.worker.host}]` : config.worker.host;
  const url = `http://${host}:${port}/api`;
  // The heap limit bounds the worker's memory (docs/operations.md, memory of a worker): logged so that a missing
  // --max-old-space-size (V8 then sizes the heap from the machine's memory) shows up.
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 1048576);
  logger.info(
    { url, sources: [...services.sources.keys()], sync: config.worker.sync, heapLimitMb },
    "worker listening",
  );

  // A source whose container does not exist is said at start, in one line an operator can act on,
  // rather than first seen as an open circuit; the sync then waits for it with the circuit open.
  void services.health().then(({ cosmos }) => {
    if (cosmos && !cosmos.ok && /container not found/.test(cosmos.error ?? ""))
      logger.error({ err: cosmos.error }, "a source's Cosmos container does not exist; its sync waits until it does");
  });

  const loops: Promise<void>[] = [];
  if (config.capture.enabled) loops.push(...startCapture(services, stopping.signal));
  let reaper: NodeJS.Timeout | undefined;
  if (config.worker.sync) {
    loops.push(
      (async () => {
        await ensureIndexesUntilReady(services, logger, stopping.signal);
        if (stopping.signal.aborted) return;
        reaper = setInterval(
          () => void reapAll(services, logger).then(() => mirrorAll(services)),
          config.queue.reapIntervalMs,
        );
        await Promise.all([
          ...[...services.sources.values()].map((source) => syncForever(services, source.sync, stopping.signal)),
          // Reimport and reconcile jobs: queued ones, and running ones whose runner died.
          runJobLoop(services.jobs, {
            pollMs: config.jobs.pollMs,
            logger: logger.child({ part: "jobs" }),
            signal: stopping.signal,
          }),
        ]);
      })(),
    );
  }

  return {
    url,
    services,
    async stop() {
      if (stopping.signal.aborted) return;
      logger.info({}, "worker stopping: no new claims, finishing in-flight batches");
      stopping.abort();
      clearInterval(reaper);
      await Promise.all(loops);
      await server.close();
      await services.close();
      logger.info({}, "worker stopped");
    },
  };
}

async function syncForever(services: Services, sync: SyncDeps, signal: AbortSignal) {
  const { concurrency, idlePollMs } = services.config.sync;
  while (!signal.aborted) {
    const report = await drain(sync, { budgetMs: 60_000, concurrency, idlePollMs, signal });
    if (report.batches > 0) services.logger.debug({ source: sync.source.name, ...report }, "drain window");
    // A pause the window's end cut short goes on: the dependency asked for that long.
    if (report.resumeAt !== undefined) await sleep(report.resumeAt - sync.clock.now(), signal);
  }
}

async function reapAll(services: Services, logger: Logger) {
  for (const [name, source] of services.sources) {
    try {
      const result = await source.queue.reap(services.clock.now());
      if (result.requeued || result.deadLettered)
        logger.warn({ source: name, ...result }, "expired leases returned to the queue");
    } catch (error) {
      logger.warn({ source: name, err: describeError(error) }, "lease reaper failed; will try again");
    }
  }
}

/** Copies new dead letters to Service Bus where configured; a failed send is logged and tried again next time. */
async function mirrorAll(services: Services) {
  for (const source of services.sources.values()) await source.deadLetterMirror?.tick();
}

async function ensureIndexesUntilReady(services: Services, logger: Logger, signal: AbortSignal) {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await services.ensureIndexes();
      return;
    } catch (error) {
      const delay = Math.min(500 * attempt, 10_000);
      logger.warn({ err: describeError(error), retryInMs: delay }, "indexes not ready; the sync waits");
      await sleep(delay, signal);
    }
  }
}
