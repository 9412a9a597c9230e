import { ValidationError } from "../core/errors.js";
import type { RedisClient } from "../redis/client.js";
import { checkPrefix, DEFAULT_PREFIX, queueKeys } from "../redis/keys.js";
import { registerScripts } from "../redis/scripts.js";
import { redisSourceQueue } from "./source-queue.js";
import type { RetryPolicy } from "./types.js";
import type { SourceQueue } from "../sync/ports.js";

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  backoffBaseMs: 1000,
  backoffMaxMs: 300_000,
});

export interface QueueOptions {
  /** First part of every key name; lets several deployments share one Redis. @defaultValue "driftless" */
  readonly prefix?: string;
  /** Missing fields take their default from DEFAULT_RETRY_POLICY. */
  readonly retry?: Partial<RetryPolicy>;
  /** Share of each backoff delay taken off at random, so keys that failed together spread out. @defaultValue 0.2 */
  readonly jitter?: number;
  /** Source of randomness for the jitter; tests pass a fixed one. @defaultValue Math.random */
  readonly random?: () => number;
}

export interface Queue {
  /** The queue of one source; the same object for the same name. */
  forSource(source: string): SourceQueue;
}

/** The Redis-backed queue of DESIGN.md. Registers the scripts on this connection once. */
export function createQueue(redis: RedisClient, options: QueueOptions = {}): Queue {
  const { prefix = DEFAULT_PREFIX, jitter = 0.2, random = Math.random } = options;
  const retry = retryPolicy(options.retry);
  if (!(jitter >= 0 && jitter < 1))
    throw new ValidationError("invalid_argument", "jitter must be at least 0 and below 1");
  checkPrefix(prefix);
  registerScripts(redis);
  const queues = new Map<string, SourceQueue>();
  return {
    forSource(source) {
      let queue = queues.get(source);
      if (!queue) {
        queue = redisSourceQueue({ redis, source, keys: queueKeys(prefix, source), retry, jitter, random });
        queues.set(source, queue);
      }
      return queue;
    },
  };
}

function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  const { maxAttempts, backoffBaseMs, backoffMaxMs } = policy;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError("invalid_retry_policy", `maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  if (
    !Number.isSafeInteger(backoffBaseMs) ||
    backoffBaseMs < 0 ||
    !Number.isSafeInteger(backoffMaxMs) ||
    backoffMaxMs < backoffBaseMs
  ) {
    throw new ValidationError(
      "invalid_retry_policy",
      `backoff must be whole milliseconds with 0 <= backoffBaseMs <= backoffMaxMs, got ${backoffBaseMs} and ${backoffMaxMs}`,
    );
  }
  return Object.freeze(policy);
}
