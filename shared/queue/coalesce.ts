import type { DocKey } from "../core/keys.js";
import { MEMBERS_PER_CALL } from "./source-queue.js";
import type { EnqueueResult, Lane, SourceQueue } from "../sync/ports.js";

interface Waiter {
  readonly start: number;
  readonly count: number;
  resolve(result: EnqueueResult): void;
  reject(error: unknown): void;
}

interface Batch {
  readonly lane: Lane;
  readonly delayMs: number;
  now: number;
  sent: boolean;
  /** Its turn has ended with a call in flight: it goes when that call returns. */
  ready: boolean;
  readonly keys: DocKey[];
  readonly waiters: Waiter[];
}

/**
 * Merges the enqueue calls made in one turn of the event loop, for the same lane and delay, into
 * one call of the queue below. Under load the HTTP producer reads many single-key requests per
 * turn; as one script call each, the Redis client, the circuit breaker, the retry policy and the
 * metrics ran once per request, and merging them cut the worker's CPU per request
 * (bench/results/history.md). Every caller still gets the counts of its own keys (the script
 * reports a duplicate flag per key), and a failure of the merged call is the failure of each of
 * them, so a caller cannot tell the difference but for a wait of one turn.
 *
 * One merged call per lane and delay is in flight at a time: a batch whose turn has ended while
 * one is still running keeps taking the calls of the turns that follow, and goes when it returns
 * (group commit). The requests of one turn are often one or two, each merged call a Redis write
 * and read of its own: this bounds the calls to one per Redis round trip however many requests
 * arrive, and costs a caller at most one round trip of waiting.
 *
 * The merged call takes the earliest `now` of its callers: a key is never due later than its own
 * caller asked. A call of more than `maxKeys` keys goes through alone, and a batch that a call
 * would take over `maxKeys` is sent first, so each caller's keys stay in one atomic script call.
 */
export function coalesceEnqueues(queue: SourceQueue, maxKeys = MEMBERS_PER_CALL): SourceQueue {
  const open = new Map<string, Batch>();
  /** Merged calls in flight, by lane and delay. */
  const inFlight = new Map<string, number>();

  /** At the end of a batch's turn: it goes now, or after the call in flight. */
  function due(id: string, batch: Batch) {
    if (batch.sent) return;
    if (inFlight.has(id)) batch.ready = true;
    else void send(id, batch);
  }

  async function send(id: string, batch: Batch) {
    if (batch.sent) return;
    batch.sent = true;
    if (open.get(id) === batch) open.delete(id);
    inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    try {
      const { isDuplicate } = await queue.enqueue(batch.keys, {
        lane: batch.lane,
        now: batch.now,
        delayMs: batch.delayMs,
      });
      for (const waiter of batch.waiters) waiter.resolve(share(isDuplicate, waiter.start, waiter.count));
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error);
    } finally {
      const left = inFlight.get(id)! - 1;
      if (left > 0) inFlight.set(id, left);
      else {
        inFlight.delete(id);
        const next = open.get(id);
        if (next?.ready) void send(id, next);
      }
    }
  }

  return {
    ...queue,
    enqueue(keys, options) {
      const { lane, now, delayMs = 0 } = options;
      // Times the queue would refuse go alone, so that they fail their own caller and no other.
      const valid = Number.isSafeInteger(now) && Number.isSafeInteger(delayMs) && now >= 0 && delayMs >= 0;
      if (!valid || keys.length === 0 || keys.length > maxKeys) return queue.enqueue(keys, options);
      const id = `${lane}:${delayMs}`;
      let batch = open.get(id);
      if (batch && batch.keys.length + keys.length > maxKeys) {
        void send(id, batch);
        batch = undefined;
      }
      if (!batch) {
        const created: Batch = { lane, delayMs, now, sent: false, ready: false, keys: [], waiters: [] };
        open.set(id, created);
        // After the I/O callbacks of this turn, which is when the requests read in it have all asked.
        setImmediate(() => due(id, created));
        batch = created;
      }
      const { keys: merged, waiters } = batch;
      batch.now = Math.min(batch.now, now);
      return new Promise<EnqueueResult>((resolve, reject) => {
        waiters.push({ start: merged.length, count: keys.length, resolve, reject });
        merged.push(...keys);
      });
    },
  };
}

function share(isDuplicate: readonly boolean[], start: number, count: number): EnqueueResult {
  const own = isDuplicate.slice(start, start + count);
  const duplicates = own.reduce((sum, duplicate) => sum + (duplicate ? 1 : 0), 0);
  return { enqueued: count - duplicates, duplicates, isDuplicate: own };
}
