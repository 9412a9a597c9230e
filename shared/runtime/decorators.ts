import { withExtraTargets, type WriteTargets } from "../elastic/fan-out.js";
import { wakingQueue, type WakeUp } from "../dispatch/wake.js";
import { coalesceEnqueues } from "../queue/coalesce.js";
import { waitingForReplicas, type ReplicaWait } from "../queue/replica-wait.js";
import type { RedisClient } from "../redis/client.js";
import {
  guardQueue,
  guardReader,
  guardRelatedReader,
  guardSink,
  type Circuit,
  type Circuits,
} from "../resilience/index.js";
import type { RelatedReader, Sink, SourceQueue, SourceReader } from "../sync/ports.js";
import type { Logger } from "../telemetry/logger.js";
import type { Metrics } from "../telemetry/metrics.js";
import { instrumentQueue } from "./telemetry.js";

/*
 * What wraps each port's adapter before the sync, capture, jobs and the API see it, in one place,
 * innermost first. The decorators themselves stay with their concern: the circuits in
 * shared/resilience, the replica wait and the enqueue coalescing in shared/queue (they need the
 * Redis client and the scripts' limits), the metrics here (telemetry.ts), a rebuild's extra write
 * target beside the sink (shared/elastic/fan-out.ts).
 */

export interface DecoratorSetup {
  readonly circuits: Circuits;
  readonly metrics: Metrics;
  /** The connection the queue writes on: a replica wait must WAIT on it. */
  readonly redis: RedisClient;
  /** Present when enqueues wait for replicas (REDIS_WAIT_REPLICAS). */
  readonly wait?: ReplicaWait | undefined;
  /** A running rebuild's new index: live writes go there too. */
  readonly writeTargets: WriteTargets;
  /** The longest a read may take before the Cosmos circuit counts it a failure. */
  readonly readTimeoutMs: number;
  /** Present in Functions with Service Bus: live enqueues wake their source's drain (shared/dispatch/wake.ts). */
  readonly wakeUp?: WakeUp | undefined;
  readonly logger: Logger;
}

export interface DecoratorStack {
  /**
   * Circuit, then replica wait, then metrics, then coalescing, then the wake-up (outermost: one
   * check per merged enqueue would be enough, but a caller's enqueue must not answer before its
   * source is woken).
   */
  queue(queue: SourceQueue): SourceQueue;
  /** Circuit with a timeout. */
  reader(reader: SourceReader): SourceReader;
  /** The same circuit for the reads of related documents (relations), which pause the same way. */
  related(reader: RelatedReader): RelatedReader;
  /**
   * The circuit, once per search target for every source there: one engine, one circuit and one
   * backoff. The default target's is `circuits.elasticsearch`, the one the sync's gate waits on.
   */
  guardedSink(sink: Sink, circuit?: Circuit): Sink;
  /** A source's writes, through the guarded sink, to its alias and any rebuild's new index. */
  sourceSink(guarded: Sink, source: string): Sink;
}

export function decoratorStack(setup: DecoratorSetup): DecoratorStack {
  const { circuits, metrics, redis, wait, writeTargets, readTimeoutMs, wakeUp, logger } = setup;
  return {
    queue(queue) {
      const guarded = guardQueue(queue, circuits.redis);
      // One WAIT per merged enqueue call (coalesce.ts), on the connection that wrote.
      const durable = wait ? waitingForReplicas(guarded, redis, wait) : guarded;
      const coalesced = coalesceEnqueues(instrumentQueue(durable, metrics));
      return wakeUp ? wakingQueue(coalesced, wakeUp, logger) : coalesced;
    },
    reader: (reader) => guardReader(reader, circuits.cosmos, { timeoutMs: readTimeoutMs }),
    related: (reader) => guardRelatedReader(reader, circuits.cosmos),
    guardedSink: (sink, circuit = circuits.elasticsearch) => guardSink(sink, circuit),
    sourceSink: (guarded, source) => withExtraTargets(guarded, writeTargets, source),
  };
}
