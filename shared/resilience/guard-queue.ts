import { ExponentialBackoff, decorrelatedJitterGenerator, handleWhen, retry, type RetryPolicy } from "cockatiel";
import { DependencyError } from "../core/errors.js";
import type { SourceQueue } from "../sync/ports.js";
import type { Circuit } from "./circuit.js";
import { DependencyPause } from "./errors.js";

export interface GuardQueueOptions {
  /** Tries of an idempotent queue call (the first included) before its error is raised. @defaultValue 3 */
  readonly attempts?: number;
  /** First wait between tries; grows with decorrelated jitter up to 2 s. @defaultValue 100 */
  readonly initialDelayMs?: number;
}

/**
 * The Redis queue behind its circuit breaker. Calls that are safe to repeat are retried inside the
 * call with a short jittered backoff, which bridges a Redis restart or failover of a second or two
 * without failing a batch: enqueue (deduplicated), the settling calls (a repeat finds the lease
 * already taken and counts it stale), reject (a letter is written once), extend, reap, stats,
 * listing, redrive, purge and the record reads and clears. `claim` is not retried: a retry is a
 * new claim with a new token, and if the first one ran but its answer was lost, its keys would sit
 * leased until the reaper returns them. (ioredis's own resend of the same command after a
 * reconnect carries the same token, and the claim script answers it with the same keys:
 * claim-10.lua.) Nor is recordTimeouts: a repeat would count a timeout twice.
 */
export function guardQueue(queue: SourceQueue, circuit: Circuit, options: GuardQueueOptions = {}): SourceQueue {
  const { attempts = 3, initialDelayMs = 100 } = options;
  const retryable = (error: Error) =>
    error instanceof DependencyError && error.retryable && !(error instanceof DependencyPause);
  const policy: RetryPolicy = retry(handleWhen(retryable), {
    maxAttempts: Math.max(0, attempts - 1),
    backoff: new ExponentialBackoff({
      initialDelay: initialDelayMs,
      maxDelay: 2000,
      generator: decorrelatedJitterGenerator,
    }),
  });
  const once = <T>(call: () => Promise<T>) => circuit.execute(call);
  const repeatable = <T>(call: () => Promise<T>) => policy.execute(() => circuit.execute(call));

  return {
    source: queue.source,
    enqueue: (keys, options) => repeatable(() => queue.enqueue(keys, options)),
    claim: (options) => once(() => queue.claim(options)),
    ack: (token, members, now) => repeatable(() => queue.ack(token, members, now)),
    retry: (token, failures, now) => repeatable(() => queue.retry(token, failures, now)),
    deadLetter: (token, failures, now) => repeatable(() => queue.deadLetter(token, failures, now)),
    release: (token, members, now) => repeatable(() => queue.release(token, members, now)),
    reject: (failures, options) => repeatable(() => queue.reject(failures, options)),
    extend: (token, members, leaseMs, now) => repeatable(() => queue.extend(token, members, leaseMs, now)),
    reap: (now, max) => repeatable(() => queue.reap(now, max)),
    stats: (now) => repeatable(() => queue.stats(now)),
    listDeadLetters: (options) => repeatable(() => queue.listDeadLetters(options)),
    listDeadLettersAfter: (sequence, limit) => repeatable(() => queue.listDeadLettersAfter(sequence, limit)),
    redrive: (now, members) => repeatable(() => queue.redrive(now, members)),
    purgeDeadLetters: (members) => repeatable(() => queue.purgeDeadLetters(members)),
    markSynced: (now) => repeatable(() => queue.markSynced(now)),
    recordVersions: (entries, now) => repeatable(() => queue.recordVersions(entries, now)),
    versions: (members) => repeatable(() => queue.versions(members)),
    clearVersions: (records) => repeatable(() => queue.clearVersions(records)),
    timeouts: (members) => repeatable(() => queue.timeouts(members)),
    recordTimeouts: (token, members, size, now) => once(() => queue.recordTimeouts(token, members, size, now)),
    clearTimeouts: (members) => repeatable(() => queue.clearTimeouts(members)),
  };
}
