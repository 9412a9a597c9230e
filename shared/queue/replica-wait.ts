import { DependencyError, describeError } from "../core/errors.js";
import type { RedisClient } from "../redis/client.js";
import type { SourceQueue } from "../sync/ports.js";

/** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS. */
export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * Redis WAIT: returns once `replicas` replicas have acknowledged every write this connection made
 * before it, or throws a DependencyError (retryable) when fewer did within the timeout. The write
 * itself stands on the primary; what fails is the promise that it survives a failover.
 *
 * WAIT counts the writes of its own connection, so it must go on the connection that wrote
 * (ioredis keeps one connection's commands in order, pipelined or not).
 */
export async function waitForReplicas(
  redis: RedisClient,
  { replicas, timeoutMs }: ReplicaWait,
  what: string,
): Promise<void> {
  let acknowledged: number;
  try {
    acknowledged = Number(await redis.wait(replicas, timeoutMs));
  } catch (error) {
    throw new DependencyError("redis", `waiting for Redis replicas after ${what} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (acknowledged < replicas) {
    throw new DependencyError(
      "redis",
      `${what}: ${acknowledged} of ${replicas} Redis replicas acknowledged it within ${timeoutMs} ms (REDIS_WAIT_REPLICAS); not counted as done`,
    );
  }
}

/**
 * The queue whose enqueues (and capture's dead-lettered keys) count as done only once the
 * replicas have them: the producer answers, and capture saves its checkpoint, after this returns.
 * A shortfall fails the call (the producer answers 503, capture reads the page again); enqueueing
 * again is harmless, the queue dedupes. Kept outside the queue's circuit breaker: a missing
 * replica is not a Redis that cannot serve the sync.
 */
export function waitingForReplicas(queue: SourceQueue, redis: RedisClient, wait: ReplicaWait): SourceQueue {
  return {
    ...queue,
    async enqueue(keys, options) {
      const result = await queue.enqueue(keys, options);
      await waitForReplicas(redis, wait, `enqueueing ${keys.length} keys`);
      return result;
    },
    async reject(failures, options) {
      const rejected = await queue.reject(failures, options);
      await waitForReplicas(redis, wait, `dead-lettering ${failures.length} keys`);
      return rejected;
    },
  };
}
