import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { DependencyError, ValidationError } from "../../shared/core/errors.js";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import { coalesceEnqueues } from "../../shared/queue/coalesce.js";
import { createQueue } from "../../shared/queue/index.js";
import { queueKeys } from "../../shared/redis/keys.js";
import type { SourceQueue } from "../../shared/sync/ports.js";
import { useTestRedis } from "../setup/redis.js";

const T = 1_700_000_000_000;
const SOURCE = "orders";
const key = (id: string): DocKey => ({ id, pk: `tenant-${id}` });

const { redis, prefix: freshPrefix } = useTestRedis();

/**
 * A real queue, seen through a recorder of the calls that reach it, under the coalescer.
 * `calls` holds the number of keys of each call that reached Redis.
 */
function coalescedQueue(maxKeys?: number, client: Redis = redis, firstCallWaitsFor?: Promise<void>) {
  const prefix = freshPrefix("coalesce");
  const queue = createQueue(client, {
    prefix,
    retry: { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 8000 },
  }).forSource(SOURCE);
  const calls: number[] = [];
  const recorded: SourceQueue = {
    ...queue,
    async enqueue(keys, options) {
      calls.push(keys.length);
      // Holds the first call before it reaches Redis, so that it is in flight for as long as a test needs.
      if (calls.length === 1 && firstCallWaitsFor) await firstCallWaitsFor;
      return queue.enqueue(keys, options);
    },
  };
  return { queue: coalesceEnqueues(recorded, maxKeys), plain: queue, calls, keys: queueKeys(prefix, SOURCE) };
}

describe("coalesced enqueues", () => {
  it("merge the calls of one turn into one, and answer each caller with the counts of its own keys", async () => {
    const { queue, plain, calls } = coalescedQueue();
    await plain.enqueue([key("old")], { lane: "live", now: T });

    const results = await Promise.all([
      queue.enqueue([key("a")], { lane: "live", now: T }),
      queue.enqueue([key("b"), key("old")], { lane: "live", now: T }),
      // The same key as the first caller's, in the same merged call: a duplicate, as if it came later.
      queue.enqueue([key("a")], { lane: "live", now: T }),
      queue.enqueue([key("c"), key("c")], { lane: "live", now: T }),
    ]);

    expect(calls).toEqual([6]);
    expect(results).toEqual([
      { enqueued: 1, duplicates: 0, isDuplicate: [false] },
      { enqueued: 1, duplicates: 1, isDuplicate: [false, true] },
      { enqueued: 0, duplicates: 1, isDuplicate: [true] },
      { enqueued: 1, duplicates: 1, isDuplicate: [false, true] },
    ]);
    expect(await plain.stats(T)).toMatchObject({ pendingLive: 4, pendingBulk: 0 });
  });

  it("keep lanes and delays apart, and merge again in the next turn", async () => {
    const { queue, plain, calls, keys } = coalescedQueue();
    await Promise.all([
      queue.enqueue([key("live")], { lane: "live", now: T }),
      queue.enqueue([key("bulk")], { lane: "bulk", now: T }),
      queue.enqueue([key("later")], { lane: "live", now: T, delayMs: 5000 }),
      queue.enqueue([key("live2")], { lane: "live", now: T }),
    ]);
    expect(calls.sort()).toEqual([1, 1, 2]);
    expect(Number(await redis.zscore(keys.live, encodeKey(key("later"))))).toBe(T + 5000);
    expect(Number(await redis.zscore(keys.bulk, encodeKey(key("bulk"))))).toBe(T);

    await queue.enqueue([key("next")], { lane: "live", now: T });
    expect(calls).toHaveLength(4);
    expect(await plain.stats(T)).toMatchObject({ pendingLive: 4, pendingBulk: 1 });
  });

  it("while a merged call is in flight, merge the calls of the turns that follow into the next one", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { queue, plain, calls } = coalescedQueue(undefined, redis, held);
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const first = queue.enqueue([key("a")], { lane: "live", now: T });
    await nextTurn();
    const second = queue.enqueue([key("b")], { lane: "live", now: T });
    await nextTurn();
    const third = queue.enqueue([key("c"), key("a")], { lane: "live", now: T });
    await nextTurn();
    await nextTurn();
    expect(calls).toEqual([1]);

    release();
    expect(await Promise.all([first, second, third])).toEqual([
      { enqueued: 1, duplicates: 0, isDuplicate: [false] },
      { enqueued: 1, duplicates: 0, isDuplicate: [false] },
      { enqueued: 1, duplicates: 1, isDuplicate: [false, true] },
    ]);
    expect(calls).toEqual([1, 3]);
    expect(await plain.stats(T)).toMatchObject({ pendingLive: 3 });

    // Nothing in flight any more: the next turn's call goes at the end of its turn, alone.
    await queue.enqueue([key("d")], { lane: "live", now: T });
    expect(calls).toEqual([1, 3, 1]);
  });

  it("make a merged key due at the earliest time its callers gave", async () => {
    const { queue, keys } = coalescedQueue();
    await Promise.all([
      queue.enqueue([key("late")], { lane: "live", now: T + 50 }),
      queue.enqueue([key("early")], { lane: "live", now: T }),
    ]);
    expect(Number(await redis.zscore(keys.live, encodeKey(key("late"))))).toBe(T);
    expect(Number(await redis.zscore(keys.live, encodeKey(key("early"))))).toBe(T);
  });

  it("never split a caller's keys: a batch that would pass the limit is sent first, a larger call goes alone", async () => {
    const { queue, plain, calls } = coalescedQueue(3);
    const many = Array.from({ length: 5 }, (_, i) => key(`many${i}`));
    const results = await Promise.all([
      queue.enqueue([key("a"), key("b")], { lane: "live", now: T }),
      queue.enqueue([key("c"), key("d")], { lane: "live", now: T }),
      queue.enqueue([key("e")], { lane: "live", now: T }),
      queue.enqueue(many, { lane: "live", now: T }),
    ]);
    expect(calls).toEqual([2, 5, 3]);
    expect(results.map((result) => result.enqueued)).toEqual([2, 2, 1, 5]);
    expect((await plain.stats(T)).pendingLive).toBe(10);
  });

  it("fail every caller of a merged call that failed, and an invalid time fails its caller alone", async () => {
    // Nothing listens on port 1; with the offline queue off, each command fails at once, as with Redis down.
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      const { queue } = coalescedQueue(undefined, down);
      const failed = await Promise.allSettled([
        queue.enqueue([key("a")], { lane: "live", now: T }),
        queue.enqueue([key("b")], { lane: "live", now: T }),
      ]);
      expect(failed.map((result) => result.status)).toEqual(["rejected", "rejected"]);
      for (const result of failed) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(DependencyError);
    } finally {
      down.disconnect();
    }

    const { queue, plain, calls } = coalescedQueue();
    const mixed = await Promise.allSettled([
      queue.enqueue([key("bad")], { lane: "live", now: -1 }),
      queue.enqueue([key("good")], { lane: "live", now: T }),
    ]);
    expect(mixed[0].status).toBe("rejected");
    expect((mixed[0] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    expect(mixed[1]).toEqual({ status: "fulfilled", value: { enqueued: 1, duplicates: 0, isDuplicate: [false] } });
    expect(calls).toEqual([1, 1]);
    expect((await plain.stats(T)).pendingLive).toBe(1);
  });
});
