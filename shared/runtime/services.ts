import type { CosmosClient } from "@azure/cosmos";
import type { Redis } from "ioredis";
import type { ApiServices, HealthCheck } from "../api/types.js";
import type { Config } from "../config/load-config.js";
import type { SourceConfig } from "../config/source.js";
import { systemClock, type Clock } from "../core/clock.js";
import { DependencyError, describeError } from "../core/errors.js";
import { createCosmosClient } from "../cosmos/client.js";
import { createCosmosReader } from "../cosmos/reader.js";
import { createRelatedReader } from "../cosmos/related.js";
import {
  createBulkSink,
  createSearchClient,
  ensureIndex,
  MappingIncompatibleError,
  type SearchClient as Client,
} from "../elastic/index.js";
import { searchTargets, type SearchTargets } from "../elastic/targets.js";
import { createDeadLetterMirror, type DeadLetterMirror } from "../deadletters/mirror.js";
import { createJobs, createWriteTargets, type JobsService } from "../jobs/index.js";
import { redisMirrorCursor } from "../deadletters/redis-cursor.js";
import { createServiceBusDeadLetterSender } from "../servicebus/dead-letter-sender.js";
import { createQueue } from "../queue/index.js";
import { createCircuit, createCircuits, type Circuits, type Dependency, type Probe } from "../resilience/index.js";
import type { SourceQueue } from "../sync/ports.js";
import type { SyncDeps } from "../sync/types.js";
import type { Logger } from "../telemetry/logger.js";
import type { Metrics } from "../telemetry/metrics.js";
import type { SpanExport, Tracing } from "../telemetry/tracing.js";
import type { SyncHistory } from "../history/sync-history.js";
import { createWakeUp, type WakeUp } from "../dispatch/wake.js";
import type { TicketSender } from "../dispatch/tickets.js";
import { decoratorStack } from "./decorators.js";
import { jobDeps } from "./jobs.js";
import {
  batchObserver,
  createServiceHistory,
  createServiceMetrics,
  createServiceTracing,
  observeGauges,
} from "./telemetry.js";
import { connectRedis } from "../redis/client.js";
import { registerScripts } from "../redis/scripts.js";

export interface SourceRuntime {
  readonly config: SourceConfig;
  readonly queue: SourceQueue;
  readonly sync: SyncDeps;
  /** Copies new dead letters to Service Bus; present when SERVICEBUS_* are configured. */
  readonly deadLetterMirror?: DeadLetterMirror;
}

export interface Services extends ApiServices {
  readonly config: Config;
  readonly logger: Logger;
  /** The adapters' clients, for work beyond the sync path (capture, jobs). */
  readonly clients: {
    readonly redis: Redis;
    /** The default target's client (ELASTICSEARCH_*): the sync history and log writers use it. */
    readonly elastic: Client;
    /** Every search target's client; a source's own is `search.forTarget(source.target)`. */
    readonly search: SearchTargets;
    readonly cosmos: CosmosClient;
  };
  readonly sources: ReadonlyMap<string, SourceRuntime>;
  /** One circuit breaker per dependency; the sources' queues, readers and sink go through them. */
  readonly circuits: Circuits;
  /** Reimport and reconcile jobs: start, status, cancel, and the chunked runner. */
  readonly jobs: JobsService;
  /** OpenTelemetry metrics (shared/telemetry/metrics.ts); worker mode serves them at GET /metrics. */
  readonly metrics: Metrics;
  /** OpenTelemetry traces (shared/telemetry/tracing.ts): the no-op tracer unless an exporter is configured. */
  readonly tracing: Tracing;
  /** The sync history (events data stream), unless SYNC_EVENTS_ENABLED is off. */
  readonly history?: SyncHistory;
  /** Present when given a ticket sender with Service Bus configured: a ticket's drain marks itself running here. */
  readonly wakeUp?: WakeUp;
  /**
   * Creates each source's index and alias when missing, and adds new mapping fields; safe to call
   * on every start. A mapping the live index cannot take in place (a field changed type) is
   * logged, not thrown: the index stays writable, and the rebuild that applies the new mapping
   * needs the sync and the job runners up. Returns those sources' errors.
   */
  ensureIndexes(): Promise<MappingIncompatibleError[]>;
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** Span exporters besides the configured ones (tests: an in-memory exporter); they turn tracing on. */
  readonly spanExports?: readonly SpanExport[];
  /**
   * Functions with Service Bus: the ticket sender. With it (and SERVICEBUS_* configured), live
   * enqueues wake their source at once (shared/dispatch/wake.ts). Worker mode drains continuously
   * and passes none.
   */
  readonly ticketSender?: TicketSender;
}

/**
 * The composition root: builds every adapter once from validated config and wires the core to
 * them. Functions and worker mode both start here, so they run the same code.
 */
export function createServices(
  config: Config,
  logger: Logger,
  clock: Clock = systemClock,
  options: ServicesOptions = {},
): Services {
  // A start that fails part-way (a CA file that cannot be read, a malformed connection string)
  // closes what it had opened: the Functions host starts again on the next invocation, and each
  // failed start used to leave a Redis connection, an Elasticsearch pool and exporters behind.
  const opened: (() => unknown)[] = [];
  const open: Open = (client, close) => {
    opened.push(() => close(client));
    return client;
  };
  try {
    return assemble(config, logger, clock, options, open);
  } catch (error) {
    for (const close of opened.reverse())
      void Promise.resolve()
        .then(close)
        .catch(() => undefined);
    throw error;
  }
}

/** Registers how to close a client that was just created, and returns it. */
type Open = <T>(client: T, close: (client: T) => unknown) => T;

function assemble(config: Config, logger: Logger, clock: Clock, options: ServicesOptions, open: Open): Services {
  const { commandTimeoutMs, caFile, tlsInsecure } = config.redis;
  if (tlsInsecure) logger.warn({}, "REDIS_TLS_INSECURE is on: the Redis server's certificate is not verified");
  const redis = open(connectRedis(config.redis.url, { commandTimeoutMs, caFile, tlsInsecure }), (client) =>
    client.disconnect(),
  );
  // Every script is defined before the first command: with auto-pipelining, one defined later can
  // be missing from a pipeline that the same tick already opened (registerScripts says more).
  registerScripts(redis);
  redis.on("error", (error: Error) => logger.warn({ err: describeError(error) }, "redis connection error"));
  const elastic = open(createSearchClient({ ...config.elasticsearch }), (client) => client.close());
  // One client per named target, however many sources write there.
  const search = searchTargets(
    elastic,
    new Map(
      Object.entries(config.targets).map(([name, target]) => [
        name,
        open(createSearchClient({ ...target, requestTimeoutMs: config.elasticsearch.requestTimeoutMs }), (client) =>
          client.close(),
        ),
      ]),
    ),
  );
  const cosmos = open(createCosmosClient(config.cosmos), (client) => client.dispose());
  const probes = dependencyProbes(redis, search, cosmos, config.sources);
  const circuits = createCircuits(config.resilience, logger, probes);
  const queue = createQueue(redis, { prefix: config.redis.keyPrefix, retry: config.queue.retry });
  const metrics = open(createServiceMetrics(config), (created) => created.shutdown());
  const tracing = open(createServiceTracing(config, options.spanExports), (created) => created.shutdown());
  const history = createServiceHistory(config, elastic, metrics, clock, logger);
  const mirrorSender = config.deadLetterMirror
    ? open(
        createServiceBusDeadLetterSender({ ...config.deadLetterMirror, clientId: config.cosmos.clientId }),
        (sender) => sender.close(),
      )
    : undefined;

  // A running rebuild's new index: live writes go there too (shared/elastic/fan-out.ts).
  const writeTargets = createWriteTargets(redis, config.redis.keyPrefix);
  const wakeUp =
    options.ticketSender && config.dispatch
      ? createWakeUp({
          redis,
          prefix: config.redis.keyPrefix,
          sender: options.ticketSender,
          debounceMs: config.dispatch.wakeDebounceMs,
          clock,
          logger,
        })
      : undefined;
  // Every port's decorators are stacked in decorators.ts, and only there.
  const decorate = decoratorStack({
    circuits,
    metrics,
    redis,
    wait: config.redis.wait,
    writeTargets,
    readTimeoutMs: 3 * config.cosmos.requestTimeoutMs,
    wakeUp,
    logger,
  });
  // One bulk sink per target, each behind a circuit of its own: an engine that is down pauses the
  // sources that write there, not the others. The default target's circuit is the one the sync's
  // gate and /api/status know; a named target's opens and closes on its sources' writes alone.
  const sinks = new Map(
    search
      .entries()
      .map(([name, client]) => [
        name,
        decorate.guardedSink(
          createBulkSink(client),
          name === "default" ? circuits.elasticsearch : createCircuit("elasticsearch", config.resilience, logger),
        ),
      ]),
  );
  const sinkOf = (source: SourceConfig) => sinks.get(source.target ?? "default")!;

  const sources = new Map<string, SourceRuntime>();
  for (const source of config.sources) {
    const sourceQueue = decorate.queue(queue.forSource(source.name));
    sources.set(source.name, {
      config: source,
      queue: sourceQueue,
      sync: {
        source,
        queue: sourceQueue,
        reader: decorate.reader(createCosmosReader(cosmos, source)),
        ...(source.relations?.length
          ? { related: decorate.related(createRelatedReader(cosmos, source.database)) }
          : {}),
        sink: decorate.sourceSink(sinkOf(source), source.name),
        clock,
        logger: logger.child({ source: source.name }),
        options: {
          batchSize: config.sync.batchSize,
          batchMaxBytes: config.sync.batchMaxBytes,
          leaseMs: config.queue.leaseMs,
          bulkShare: config.queue.bulkShare,
          writeTimeoutMs: config.elasticsearch.requestTimeoutMs,
          staleReadGraceMs: config.sync.staleReadGraceMs,
          // A lagging replica catches up within about a second; read again well inside the grace.
          staleReadRetryMs: Math.min(500, config.sync.staleReadGraceMs),
        },
        gate: circuits,
        onBatch: batchObserver(source.name, metrics, history, logger),
        tracer: tracing.tracer,
      },
      ...(mirrorSender
        ? {
            deadLetterMirror: createDeadLetterMirror({
              queue: sourceQueue,
              sender: mirrorSender,
              cursor: redisMirrorCursor(redis, config.redis.keyPrefix, source.name),
              clock,
              logger,
            }),
          }
        : {}),
    });
  }

  observeGauges(metrics, sources.values(), () => circuits.states(), clock);

  const jobs = createJobs(
    jobDeps({
      redis,
      prefix: config.redis.keyPrefix,
      search: (source) => search.forTarget(source.target),
      cosmos,
      sources,
      targets: writeTargets,
      clock,
      logger,
      options: {
        pageSize: config.jobs.pageSize,
        bulkConcurrency: config.jobs.bulkConcurrency,
        reconcileBatchSize: config.jobs.reconcileBatchSize,
        reconcileMaxDeleteShare: config.jobs.reconcileMaxDeleteShare,
        leaseMs: config.jobs.leaseMs,
        batchMaxBytes: config.sync.batchMaxBytes,
      },
      tracer: tracing.tracer,
    }),
  );

  return {
    config,
    logger,
    clock,
    clients: { redis, elastic, search, cosmos },
    jobs,
    sources,
    circuits,
    metrics,
    tracing,
    ...(history ? { history } : {}),
    ...(wakeUp ? { wakeUp } : {}),
    circuitStates: () => circuits.states(),
    limits: { maxItems: config.api.maxItems, maxBodyBytes: config.api.maxBodyBytes },
    async health() {
      // Each named target is a check of its own ("elasticsearch:<target>"), so /api/ready names the one that is down.
      const named = search.entries().slice(1);
      const [redisCheck, elasticCheck, cosmosCheck, ...targetChecks] = await Promise.all([
        timed(probes.redis),
        timed(probes.elasticsearch),
        timed(probes.cosmos),
        ...named.map(([, client]) => timed(() => probeSearch(client))),
      ]);
      return {
        redis: redisCheck,
        elasticsearch: elasticCheck,
        cosmos: cosmosCheck,
        ...Object.fromEntries(named.map(([name], i) => [`elasticsearch:${name}`, targetChecks[i]!])),
      };
    },
    async ensureIndexes() {
      const incompatible: MappingIncompatibleError[] = [];
      for (const source of config.sources) {
        try {
          await ensureIndex(search.forTarget(source.target), {
            alias: source.index,
            mapping: source.mapping,
            settings: source.settings,
          });
        } catch (error) {
          if (!(error instanceof MappingIncompatibleError)) throw error;
          incompatible.push(error);
          logger.warn(
            { source: source.name, err: describeError(error) },
            `the configured mapping needs a new index: run a rebuild (driftless reimport ${source.name} --rebuild); until then the current index is written`,
          );
        }
      }
      return incompatible;
    },
    async close() {
      await history?.flush(5000); // the last batches' events, while Elasticsearch is still connected
      await Promise.allSettled([
        redis.quit(),
        ...search.entries().map(([, client]) => client.close()),
        mirrorSender?.close(),
        metrics.shutdown(),
        tracing.shutdown(),
      ]);
      // QUIT fails when Redis never accepted the connection (down, wrong password); without this
      // ioredis would keep reconnecting and hold a CLI process open after its error line.
      redis.disconnect();
      cosmos.dispose();
    },
  };
}

/** The calls that try an open circuit when the sync has nothing to do (Circuits.idle); the same ones /api/health makes. */
function dependencyProbes(
  redis: Redis,
  search: SearchTargets,
  cosmos: CosmosClient,
  sources: readonly SourceConfig[],
): Record<Dependency, Probe> {
  const probe = (dependency: Dependency, call: () => Promise<unknown>) => async () => {
    try {
      await call();
    } catch (error) {
      throw new DependencyError(dependency, `${dependency} probe failed: ${describeError(error)}`, { cause: error });
    }
  };
  return {
    redis: probe("redis", () => redis.ping()),
    // The default target's circuit; a named target's circuit tries its own sources' writes.
    elasticsearch: probe("elasticsearch", () => probeSearch(search.forTarget(undefined))),
    cosmos: probe("cosmos", () => checkContainers(cosmos, sources)),
  };
}

/** A cheap call to one search target. */
async function probeSearch(client: Client): Promise<void> {
  await client.cluster.health({ timeout: "5s" }, { requestTimeout: 5000 });
}

/**
 * Cosmos is usable for the sync only when every source's container exists: the account answering
 * is not enough. A missing container (a typo, a container dropped to be recreated) keeps the
 * Cosmos circuit open, and /api/health and /api/status name it, instead of every read of that
 * source answering 404 (sub-status 1003).
 */
async function checkContainers(cosmos: CosmosClient, sources: readonly SourceConfig[]): Promise<void> {
  await cosmos.getDatabaseAccount();
  const missing: string[] = [];
  await Promise.all(
    sources.map(async (source) => {
      try {
        const { statusCode } = await cosmos.database(source.database).container(source.container).read();
        if (statusCode === 404) missing.push(`${source.database}/${source.container} (source ${source.name})`);
      } catch (error) {
        if ((error as { code?: unknown }).code !== 404) throw error;
        missing.push(`${source.database}/${source.container} (source ${source.name})`);
      }
    }),
  );
  if (missing.length > 0) throw new Error(`container not found: ${missing.sort().join(", ")}`);
}

async function timed(check: () => Promise<void>): Promise<HealthCheck> {
  const started = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: describeError(error).slice(0, 300) };
  }
}
