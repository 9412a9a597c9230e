import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { DependencyError, ValidationError } from "../../shared/core/errors.js";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import { createQueue, QueueScriptError, type QueueOptions } from "../../shared/queue/index.js";
import { runScript } from "../../shared/queue/run-script.js";
import { ScriptCode } from "../../shared/redis/codes.js";
import { queueKeys } from "../../shared/redis/keys.js";
import { registerScripts } from "../../shared/redis/scripts.js";
import type { ClaimedKey, SourceQueue } from "../../shared/sync/ports.js";
import { useTestRedis } from "../setup/redis.js";
import { uniqueName } from "../setup/services.js";

const T = 1_700_000_000_000;
const SOURCE = "orders";
const key = (id: string): DocKey => ({ id, pk: `tenant-${id}` });
const member = (id: string): string => encodeKey(key(id));
const ids = (items: readonly ClaimedKey[]): string[] => items.map((item) => item.key.id).sort();

const { redis, prefix: freshPrefix } = useTestRedis();

/** A queue with its own prefix; backoff 1 s doubling to 8 s, 3 attempts, no jitter unless asked. */
function newQueue(options: QueueOptions = {}): { queue: SourceQueue; keys: ReturnType<typeof queueKeys> } {
  const prefix = freshPrefix("dlq");
  const queue = createQueue(redis, {
    prefix,
    random: () => 0,
    ...options,
    retry: { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 8000, ...options.retry },
  }).forSource(SOURCE);
  return { queue, keys: queueKeys(prefix, SOURCE) };
}

async function claimOne(queue: SourceQueue, now: number, leaseMs = 30_000) {
  const claim = await queue.claim({ max: 1, leaseMs, now });
  expect(claim.items).toHaveLength(1);
  return { token: claim.token, item: claim.items[0]! };
}

describe("enqueue", () => {
  it("deduplicates and keeps the earliest due time", async () => {
    const { queue, keys } = newQueue();
    expect(await queue.enqueue([key("a"), key("b"), key("a")], { lane: "live", now: T, delayMs: 5000 })).toEqual({
      enqueued: 2,
      duplicates: 1,
      isDuplicate: [false, false, true],
    });
    expect(await queue.enqueue([key("a")], { lane: "live", now: T, delayMs: 1000 })).toEqual({
      enqueued: 0,
      duplicates: 1,
      isDuplicate: [true],
    });
    expect(await queue.enqueue([key("a")], { lane: "live", now: T, delayMs: 9000 })).toEqual({
      enqueued: 0,
      duplicates: 1,
      isDuplicate: [true],
    });
    expect(Number(await redis.zscore(keys.live, member("a")))).toBe(T + 1000);

    expect((await queue.claim({ max: 10, leaseMs: 1000, now: T + 999 })).items).toEqual([]);
    expect(ids((await queue.claim({ max: 10, leaseMs: 1000, now: T + 1000 })).items)).toEqual(["a"]);
    expect(ids((await queue.claim({ max: 10, leaseMs: 1000, now: T + 5000 })).items)).toEqual(["b"]);
  });

  it("returns the decoded key, its lane and zero attempts for a fresh key", async () => {
    const { queue } = newQueue();
    const composite: DocKey = { id: "x", pk: ["eu", 7, null] };
    await queue.enqueue([composite], { lane: "bulk", now: T });
    const claim = await queue.claim({ max: 5, leaseMs: 1000, now: T });
    expect(claim.leaseDeadline).toBe(T + 1000);
    expect(claim.items).toEqual([{ key: composite, member: encodeKey(composite), attempts: 0, lane: "bulk" }]);
  });

  it("moves a bulk key to live on a live enqueue, and never demotes a live key", async () => {
    const { queue, keys } = newQueue();
    await queue.enqueue([key("up"), key("stay")], { lane: "bulk", now: T, delayMs: 500 });
    await queue.enqueue([key("stay2")], { lane: "live", now: T });
    expect(await queue.enqueue([key("up")], { lane: "live", now: T, delayMs: 2000 })).toEqual({
      enqueued: 0,
      duplicates: 1,
      isDuplicate: [true],
    });
    expect(await queue.enqueue([key("stay2")], { lane: "bulk", now: T })).toEqual({
      enqueued: 0,
      duplicates: 1,
      isDuplicate: [true],
    });

    expect(await redis.zscore(keys.bulk, member("up"))).toBeNull();
    expect(Number(await redis.zscore(keys.live, member("up")))).toBe(T + 500); // earliest due kept
    expect(await redis.zscore(keys.bulk, member("stay2"))).toBeNull();
    const stats = await queue.stats(T);
    expect([stats.pendingLive, stats.pendingBulk]).toEqual([2, 1]);
  });

  it("rejects malformed input with a ValidationError and queues nothing", async () => {
    const { queue } = newQueue();
    await expect(queue.enqueue([key("a")], { lane: "fast" as "live", now: T })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.enqueue([key("a")], { lane: "live", now: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.claim({ max: 0, leaseMs: 1000, now: T })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.claim({ max: 1, leaseMs: 1000, now: T, bulkShare: 2 })).rejects.toBeInstanceOf(ValidationError);
    expect((await queue.stats(T)).pending).toBe(0);
  });

  it("processes more keys than one script call takes, in atomic chunks", async () => {
    const { queue } = newQueue();
    const many = Array.from({ length: 2500 }, (_, i) => key(`k${i}`));
    const result = await queue.enqueue([...many, ...many.slice(0, 10)], { lane: "bulk", now: T });
    expect(result).toMatchObject({ enqueued: 2500, duplicates: 10 });
    // The outcomes of the three chunks line up with the keys given.
    expect(result.isDuplicate).toEqual([...many.map(() => false), ...many.slice(0, 10).map(() => true)]);
    const claim = await queue.claim({ max: 2500, leaseMs: 1000, now: T });
    expect(claim.items).toHaveLength(2500);
    expect(
      await queue.ack(
        claim.token,
        claim.items.map((i) => i.member),
        T,
      ),
    ).toEqual({ settled: 2500, stale: 0 });
    expect((await queue.stats(T)).inflight).toBe(0);
  });
});

describe("claim", () => {
  it("takes live first, keeps the bulk share, and fills spare slots from either lane", async () => {
    const { queue } = newQueue();
    await queue.enqueue(
      Array.from({ length: 20 }, (_, i) => key(`live${String(i).padStart(2, "0")}`)),
      { lane: "live", now: T },
    );
    await queue.enqueue(
      Array.from({ length: 20 }, (_, i) => key(`bulk${String(i).padStart(2, "0")}`)),
      { lane: "bulk", now: T },
    );
    const lanes = (items: readonly ClaimedKey[]) => ({
      live: items.filter((i) => i.lane === "live").length,
      bulk: items.filter((i) => i.lane === "bulk").length,
    });

    expect(lanes((await queue.claim({ max: 10, leaseMs: 1000, now: T, bulkShare: 0.2 })).items)).toEqual({
      live: 8,
      bulk: 2,
    });
    // The default share of 0.1 keeps one slot of ten.
    expect(lanes((await queue.claim({ max: 10, leaseMs: 1000, now: T })).items)).toEqual({ live: 9, bulk: 1 });
    // Live has 3 left: bulk fills the other 7 even with no share.
    expect(lanes((await queue.claim({ max: 10, leaseMs: 1000, now: T, bulkShare: 0 })).items)).toEqual({
      live: 3,
      bulk: 7,
    });
    // Tiny share, two slots: still one for bulk.
    await queue.enqueue([key("late-live1"), key("late-live2")], { lane: "live", now: T });
    expect(lanes((await queue.claim({ max: 2, leaseMs: 1000, now: T, bulkShare: 0.01 })).items)).toEqual({
      live: 1,
      bulk: 1,
    });
    // One slot: live wins.
    expect(lanes((await queue.claim({ max: 1, leaseMs: 1000, now: T })).items)).toEqual({ live: 1, bulk: 0 });
    // Live empty: everything left from bulk.
    expect(lanes((await queue.claim({ max: 100, leaseMs: 1000, now: T })).items)).toEqual({ live: 0, bulk: 9 });
  });

  it("takes the earliest due keys first", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("c")], { lane: "live", now: T - 1 });
    await queue.enqueue([key("a")], { lane: "live", now: T - 3 });
    await queue.enqueue([key("b")], { lane: "live", now: T - 2 });
    const claim = await queue.claim({ max: 2, leaseMs: 1000, now: T });
    expect(claim.items.map((i) => i.key.id)).toEqual(["a", "b"]);
  });

  it("run again with the same token (a resend after a reconnect), answers the same keys and claims no more", async () => {
    const { queue, keys } = newQueue();
    await queue.enqueue([key("a"), key("b"), key("c"), key("d")], { lane: "live", now: T });
    await queue.enqueue([key("e")], { lane: "bulk", now: T });
    const claim = (now: number, token: string) => runScript(redis, keys, "claim", [now, 3, 1000, 0.1, token]);
    // A fresh key's answer: no failed attempt, its lane, and no version or timeout record.
    const answered = (name: string, lane: string) => [member(name), 0, lane, null, null];

    const first = await claim(T, "token-1");
    expect(first).toEqual([...answered("a", "live"), ...answered("b", "live"), ...answered("e", "bulk")]);
    // The first answer was lost; ioredis sends the same command again.
    expect(await claim(T + 5, "token-1")).toEqual(first);
    expect(await queue.stats(T + 5)).toMatchObject({ pending: 2, inflight: 3 });

    // Keys the token has settled since are not answered again.
    expect(await queue.ack("token-1", [member("a")], T + 10)).toEqual({ settled: 1, stale: 0 });
    expect(await claim(T + 20, "token-1")).toEqual([...answered("b", "live"), ...answered("e", "bulk")]);

    // Another token claims what is left; once the first claim's lease has run out it is forgotten.
    expect(await claim(T + 30, "token-2")).toEqual([...answered("c", "live"), ...answered("d", "live")]);
    expect(await redis.hlen(keys.claims)).toBe(2);
    expect(await claim(T + 1000, "token-3")).toEqual([]);
    expect(await redis.hlen(keys.claims)).toBe(1);
    expect(await redis.zrange(keys.claimexpiry, 0, -1)).toEqual(["token-2"]);
  });
});

describe("bulk timeout records", () => {
  it("keep the size once, then halve it; count solo timeouts only when the source synced something since the last one", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a"), key("b")], { lane: "live", now: T });
    const { token, items } = await queue.claim({ max: 2, leaseMs: 60_000, now: T });
    const [a, b] = items.map((item) => item.member) as [string, string];

    expect(await queue.recordTimeouts(token, [a, b], 6, T)).toEqual([0, 0]);
    expect(await queue.timeouts([a, b, member("never")])).toEqual([
      { cap: 6, solo: 0, at: T },
      { cap: 6, solo: 0, at: T },
      undefined,
    ]);
    expect(await queue.recordTimeouts(token, [a], 6, T + 1)).toEqual([0]);
    expect(await queue.timeouts([a])).toEqual([{ cap: 3, solo: 0, at: T + 1 }]);

    // Alone: the first solo timeout counts; a second one only after the source synced something.
    expect(await queue.recordTimeouts(token, [a], 1, T + 2)).toEqual([1]);
    expect(await queue.recordTimeouts(token, [a], 1, T + 3)).toEqual([1]);
    expect(await queue.timeouts([a])).toEqual([{ cap: 1, solo: 1, at: T + 2 }]);
    await queue.markSynced(T + 4);
    expect(await queue.recordTimeouts(token, [a], 1, T + 5)).toEqual([2]);

    // Another token's keys are left alone; records are forgotten on request.
    expect(await queue.recordTimeouts("not-the-holder", [b], 1, T + 6)).toEqual([-1]);
    await queue.clearTimeouts([a, b]);
    expect(await queue.timeouts([a, b])).toEqual([undefined, undefined]);
  });
});

describe("leases", () => {
  it("hands the key of a dead holder to another worker once the lease expires and refuses the old holder", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a")], { lane: "live", now: T });
    const first = await claimOne(queue, T, 1000);

    expect((await queue.claim({ max: 10, leaseMs: 1000, now: T + 500 })).items).toEqual([]);
    expect(await queue.reap(T + 999)).toEqual({ requeued: 0, deadLettered: 0 });
    expect(await queue.reap(T + 1000)).toEqual({ requeued: 1, deadLettered: 0 });

    const second = await claimOne(queue, T + 1000, 1000);
    expect(second.token).not.toBe(first.token);
    expect(second.item).toMatchObject({ member: member("a"), attempts: 1 }); // the expiry counted

    expect(await queue.ack(first.token, [member("a")], T + 1001)).toEqual({ settled: 0, stale: 1 });
    expect(await queue.extend(first.token, [member("a")], 1000, T + 1001)).toEqual({ settled: 0, stale: 1 });
    expect((await queue.stats(T + 1001)).inflight).toBe(1); // the stale ack changed nothing
    expect(await queue.ack(second.token, [member("a")], T + 1002)).toEqual({ settled: 1, stale: 0 });
    expect(await queue.stats(T + 1002)).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
  });

  it("extends a lease so that the reaper leaves it alone", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a")], { lane: "live", now: T });
    const { token } = await claimOne(queue, T, 1000);
    expect(await queue.extend(token, [member("a"), member("never-claimed")], 5000, T + 900)).toEqual({
      settled: 1,
      stale: 1,
    });
    expect(await queue.reap(T + 1000)).toEqual({ requeued: 0, deadLettered: 0 });
    expect(await queue.reap(T + 5900)).toEqual({ requeued: 1, deadLettered: 0 });
  });

  it('dead-letters a key whose leases keep expiring, with reason "lease expired"', async () => {
    const { queue } = newQueue({ retry: { maxAttempts: 2 } });
    await queue.enqueue([key("poison")], { lane: "bulk", now: T });
    await claimOne(queue, T, 100);
    expect(await queue.reap(T + 100)).toEqual({ requeued: 1, deadLettered: 0 });
    await claimOne(queue, T + 100, 100);
    expect(await queue.reap(T + 200)).toEqual({ requeued: 0, deadLettered: 1 });
    expect(await queue.listDeadLetters()).toEqual([
      {
        key: key("poison"),
        member: member("poison"),
        reason: "lease expired",
        attempts: 2,
        lastError: "lease expired",
        deadLetteredAt: T + 200,
        lane: "bulk",
      },
    ]);
  });

  it("reaps at most max keys per call, earliest deadline first", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a"), key("b"), key("c")], { lane: "live", now: T });
    await queue.claim({ max: 1, leaseMs: 100, now: T });
    await queue.claim({ max: 2, leaseMs: 50, now: T });
    expect(await queue.reap(T + 100, 2)).toEqual({ requeued: 2, deadLettered: 0 });
    expect(ids((await queue.claim({ max: 10, leaseMs: 1000, now: T + 100 })).items)).toEqual(["b", "c"]);
  });
});

describe("dirty keys", () => {
  it("processes a key re-enqueued while in flight again after the ack, never concurrently", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a")], { lane: "bulk", now: T });
    const first = await claimOne(queue, T);

    expect(await queue.enqueue([key("a")], { lane: "bulk", now: T + 1 })).toEqual({
      enqueued: 1,
      duplicates: 0,
      isDuplicate: [false],
    });
    expect(await queue.enqueue([key("a")], { lane: "live", now: T + 2 })).toEqual({
      enqueued: 0,
      duplicates: 1,
      isDuplicate: [true],
    });
    expect(await queue.stats(T + 2)).toMatchObject({ pending: 0, inflight: 1, dirty: 1 });
    expect((await queue.claim({ max: 10, leaseMs: 1000, now: T + 3 })).items).toEqual([]);

    expect(await queue.ack(first.token, [member("a")], T + 4)).toEqual({ settled: 1, stale: 0 });
    expect(await queue.stats(T + 4)).toMatchObject({ pendingLive: 1, inflight: 0, dirty: 0, due: 1 });
    const second = await claimOne(queue, T + 4);
    expect(second.item).toMatchObject({ attempts: 0, lane: "live" }); // live won over bulk
    await queue.ack(second.token, [member("a")], T + 5);
    expect(await queue.stats(T + 5)).toMatchObject({ pending: 0, inflight: 0, dirty: 0 });
  });

  it("starts a failing key afresh when it changed again while in flight", async () => {
    const { queue, keys } = newQueue();
    await queue.enqueue([key("r"), key("d"), key("l")], { lane: "live", now: T });
    const claim = await queue.claim({ max: 3, leaseMs: 1000, now: T });
    await queue.enqueue([key("r"), key("d"), key("l")], { lane: "bulk", now: T + 1 });

    expect(await queue.retry(claim.token, [{ member: member("r"), error: "503" }], T + 2)).toEqual({
      settled: 1,
      stale: 0,
      deadLettered: 0,
    });
    expect(await queue.deadLetter(claim.token, [{ member: member("d"), error: "400" }], T + 2)).toEqual({
      settled: 1,
      stale: 0,
    });
    expect(await queue.release(claim.token, [member("l")], T + 2)).toEqual({ settled: 1, stale: 0 });

    expect(await queue.stats(T + 2)).toMatchObject({ pendingLive: 3, due: 3, deadLettered: 0, dirty: 0, inflight: 0 });
    expect(await redis.hlen(keys.attempts)).toBe(0);
    const again = await queue.claim({ max: 3, leaseMs: 1000, now: T + 2 });
    expect(again.items.map((i) => [i.key.id, i.attempts, i.lane]).sort()).toEqual([
      ["d", 0, "live"],
      ["l", 0, "live"],
      ["r", 0, "live"],
    ]);
  });
});

describe("retry", () => {
  it("backs off exponentially up to the maximum: not claimable before due, claimable after", async () => {
    const { queue, keys } = newQueue({ retry: { maxAttempts: 10, backoffBaseMs: 1000, backoffMaxMs: 3000 } });
    await queue.enqueue([key("a")], { lane: "live", now: T });
    let now = T;
    for (const delay of [1000, 2000, 3000, 3000]) {
      const { token, item } = await claimOne(queue, now);
      expect(await queue.retry(token, [{ member: item.member, error: `failed at ${now}` }], now)).toEqual({
        settled: 1,
        stale: 0,
        deadLettered: 0,
      });
      expect(Number(await redis.zscore(keys.live, item.member))).toBe(now + delay);
      expect(await redis.hget(keys.errors, item.member)).toBe(`failed at ${now}`);
      expect((await queue.claim({ max: 1, leaseMs: 1000, now: now + delay - 1 })).items).toEqual([]);
      expect(await queue.stats(now + delay - 1)).toMatchObject({ pending: 1, due: 0, oldestPendingAgeMs: 0 });
      now += delay;
    }
    const { item } = await claimOne(queue, now);
    expect(item.attempts).toBe(4);
  });

  it("takes the caller's random share off the delay", async () => {
    const { queue, keys } = newQueue({ random: () => 0.5, jitter: 0.2 });
    await queue.enqueue([key("a")], { lane: "live", now: T });
    const { token } = await claimOne(queue, T);
    await queue.retry(token, [{ member: member("a"), error: "429" }], T);
    expect(Number(await redis.zscore(keys.live, member("a")))).toBe(T + 900);
  });

  it("dead-letters after the attempt limit with the reason and the last error", async () => {
    const { queue, keys } = newQueue({ retry: { maxAttempts: 3 } });
    await queue.enqueue([key("a")], { lane: "bulk", now: T });
    let now = T;
    for (const attempt of [1, 2, 3]) {
      const { token } = await claimOne(queue, now);
      const result = await queue.retry(token, [{ member: member("a"), error: `error ${attempt}` }], now);
      expect(result).toEqual({ settled: 1, stale: 0, deadLettered: attempt === 3 ? 1 : 0 });
      now += 10_000;
    }
    expect(await queue.stats(now)).toMatchObject({ pending: 0, inflight: 0, deadLettered: 1 });
    expect(await queue.listDeadLetters()).toEqual([
      {
        key: key("a"),
        member: member("a"),
        reason: "max attempts",
        attempts: 3,
        lastError: "error 3",
        deadLetteredAt: T + 20_000,
        lane: "bulk",
      },
    ]);
    expect(await redis.hexists(keys.attempts, member("a"))).toBe(0);
    expect(await redis.hexists(keys.errors, member("a"))).toBe(0);
  });

  it("starts a key waiting out a backoff afresh when it is enqueued again", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a")], { lane: "live", now: T });
    const { token } = await claimOne(queue, T);
    await queue.retry(token, [{ member: member("a"), error: "timeout" }], T);
    expect(await queue.enqueue([key("a")], { lane: "live", now: T + 10 })).toEqual({
      enqueued: 0,
      duplicates: 1,
      isDuplicate: [true],
    });
    const { item } = await claimOne(queue, T + 10); // due now, not at T + 1000
    expect(item.attempts).toBe(0);
  });
});

describe("dead letters", () => {
  it("dead-letters immediately, counting the attempt, with the caller's reason", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a"), key("b")], { lane: "live", now: T });
    const claim = await queue.claim({ max: 2, leaseMs: 1000, now: T });
    expect(
      await queue.deadLetter(
        claim.token,
        [
          {
            member: member("a"),
            error: "mapper_parsing_exception: failed to parse [price]",
            reason: "elasticsearch 400",
          },
          { member: member("b"), error: "illegal_argument_exception" },
        ],
        T + 5,
      ),
    ).toEqual({ settled: 2, stale: 0 });
    expect(await queue.deadLetter("not-the-token", [{ member: member("a"), error: "x" }], T + 6)).toEqual({
      settled: 0,
      stale: 1,
    });
    const dead = await queue.listDeadLetters();
    expect(
      dead.map(({ key: k, reason, attempts, lastError, deadLetteredAt }) => [
        k.id,
        reason,
        attempts,
        lastError,
        deadLetteredAt,
      ]),
    ).toEqual([
      ["a", "elasticsearch 400", 1, "mapper_parsing_exception: failed to parse [price]", T + 5],
      ["b", "rejected", 1, "illegal_argument_exception", T + 5],
    ]);
    expect(await queue.listDeadLetters({ offset: 1, limit: 5 })).toHaveLength(1);
  });

  it("revives a dead-lettered key on a new enqueue, attempts reset", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a")], { lane: "live", now: T });
    const { token } = await claimOne(queue, T);
    await queue.deadLetter(token, [{ member: member("a"), error: "400" }], T);
    expect(await queue.enqueue([key("a")], { lane: "bulk", now: T + 1 })).toEqual({
      enqueued: 1,
      duplicates: 0,
      isDuplicate: [false],
    });
    expect(await queue.stats(T + 1)).toMatchObject({ deadLettered: 0, pendingBulk: 1 });
    expect((await claimOne(queue, T + 1)).item).toMatchObject({ attempts: 0, lane: "bulk" });
  });

  it("redrives into the lane each key came from, and purges", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("l1"), key("l2"), key("l3")], { lane: "live", now: T });
    await queue.enqueue([key("b1")], { lane: "bulk", now: T });
    const claim = await queue.claim({ max: 4, leaseMs: 1000, now: T });
    await queue.deadLetter(
      claim.token,
      claim.items.map((i) => ({ member: i.member, error: "400" })),
      T,
    );

    expect(await queue.redrive(T + 1, [member("l1"), member("not-dead")])).toBe(1);
    expect(await queue.purgeDeadLetters([member("l2")])).toBe(1);
    expect(await queue.stats(T + 1)).toMatchObject({ deadLettered: 2, pendingLive: 1 });
    expect(await queue.redrive(T + 2)).toBe(2);
    expect(await queue.stats(T + 2)).toMatchObject({ deadLettered: 0, pendingLive: 2, pendingBulk: 1 });
    const again = await queue.claim({ max: 10, leaseMs: 1000, now: T + 2 });
    expect(again.items.map((i) => [i.key.id, i.lane, i.attempts]).sort()).toEqual([
      ["b1", "bulk", 0],
      ["l1", "live", 0],
      ["l3", "live", 0],
    ]);
  });

  it("redrives and purges all of many dead letters", async () => {
    const { queue } = newQueue();
    const many = Array.from({ length: 1500 }, (_, i) => key(`k${i}`));
    await queue.enqueue(many, { lane: "live", now: T });
    let claim = await queue.claim({ max: 1500, leaseMs: 1000, now: T });
    await queue.deadLetter(
      claim.token,
      claim.items.map((i) => ({ member: i.member, error: "400" })),
      T,
    );
    expect(await queue.redrive(T)).toBe(1500);
    claim = await queue.claim({ max: 1500, leaseMs: 1000, now: T });
    await queue.deadLetter(
      claim.token,
      claim.items.map((i) => ({ member: i.member, error: "400" })),
      T,
    );
    expect(await queue.purgeDeadLetters()).toBe(1500);
    expect(await queue.stats(T)).toMatchObject({ pending: 0, inflight: 0, deadLettered: 0 });
  });
});

describe("release", () => {
  it("puts keys back due now in their lane without spending an attempt", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a")], { lane: "bulk", now: T });
    let { token } = await claimOne(queue, T);
    await queue.retry(token, [{ member: member("a"), error: "503" }], T);
    ({ token } = await claimOne(queue, T + 1000));
    expect(await queue.release(token, [member("a")], T + 1500)).toEqual({ settled: 1, stale: 0 });
    expect(await queue.release(token, [member("a")], T + 1500)).toEqual({ settled: 0, stale: 1 });
    const { item } = await claimOne(queue, T + 1500);
    expect(item).toMatchObject({ attempts: 1, lane: "bulk" });
  });
});

describe("stats", () => {
  it("counts every state and the age of the oldest due key", async () => {
    const { queue } = newQueue();
    expect(await queue.stats(T)).toEqual({
      pending: 0,
      pendingLive: 0,
      pendingBulk: 0,
      due: 0,
      inflight: 0,
      dirty: 0,
      deadLettered: 0,
      oldestPendingAgeMs: 0,
      lastSyncAt: null,
    });
    await queue.enqueue([key("old-bulk")], { lane: "bulk", now: T - 7000 });
    await queue.enqueue([key("live1"), key("live2")], { lane: "live", now: T - 3000 });
    await queue.enqueue([key("later")], { lane: "live", now: T, delayMs: 60_000 });
    await queue.enqueue([key("fly"), key("dead")], { lane: "live", now: T - 10_000 });
    const claim = await queue.claim({ max: 2, leaseMs: 60_000, now: T - 10_000 });
    await queue.deadLetter(claim.token, [{ member: member("dead"), error: "400" }], T - 10_000);
    await queue.enqueue([key("fly")], { lane: "live", now: T });
    await queue.markSynced(T - 100);
    await queue.markSynced(T - 200); // a late report does not move it back

    expect(await queue.stats(T)).toEqual({
      pending: 4,
      pendingLive: 3,
      pendingBulk: 1,
      due: 3,
      inflight: 1,
      dirty: 1,
      deadLettered: 1,
      oldestPendingAgeMs: 7000,
      lastSyncAt: T - 100,
    });
  });
});

describe("errors", () => {
  it("turns a script's negative code into a QueueScriptError", async () => {
    const keys = queueKeys(uniqueName("dlq"), SOURCE);
    registerScripts(redis);
    await expect(runScript(redis, keys, "enqueue", [T, 0, "fast", member("a")])).rejects.toMatchObject({
      name: "QueueScriptError",
      scriptCode: ScriptCode.BadLane,
    });
    await expect(runScript(redis, keys, "claim", ["soon", 1, 1000, 0.1, "token"])).rejects.toBeInstanceOf(
      QueueScriptError,
    );
  });

  it("reports a script that Redis refuses to run as a DependencyError that is not retryable", async () => {
    const { queue, keys } = newQueue();
    await redis.set(keys.live, "not a sorted set");
    const failure = await queue.enqueue([key("a")], { lane: "live", now: T }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DependencyError);
    expect(failure).toMatchObject({
      dependency: "redis",
      retryable: false,
      message: expect.stringMatching(/WRONGTYPE/),
    });
  });

  it("reports an unreachable Redis as a retryable DependencyError", async () => {
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      const queue = createQueue(down, { prefix: uniqueName("dlq") }).forSource(SOURCE);
      const failure = await queue.stats(T).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(DependencyError);
      expect(failure).toMatchObject({ dependency: "redis", retryable: true });
    } finally {
      down.disconnect();
    }
  });

  it("gives the same object for the same source", () => {
    const queue = createQueue(redis, { prefix: uniqueName("dlq") });
    expect(queue.forSource("a")).toBe(queue.forSource("a"));
    expect(() => queue.forSource("a{b}")).toThrow(ValidationError);
    expect(() => createQueue(redis, { prefix: "has space" })).toThrow(ValidationError);
    expect(() => createQueue(redis, { retry: { maxAttempts: 0 } })).toThrow(ValidationError);
  });
});

describe("version records", () => {
  it("keep the newest change per key, a later record winning at an equal version", async () => {
    const { queue } = newQueue();
    await queue.recordVersions([{ member: member("a"), version: 100, deleted: false, etag: '"e-100"' }], T);
    await queue.recordVersions([{ member: member("a"), version: 90, deleted: true }], T + 1);
    await queue.recordVersions(
      [
        { member: member("b"), version: 50, deleted: false },
        { member: member("b"), version: 50, deleted: true },
      ],
      T + 2,
    );
    const [a, b, none] = await queue.versions([member("a"), member("b"), member("zzz")]);
    expect(a).toMatchObject({ version: 100, deleted: false, recordedAt: T, etag: '"e-100"' });
    expect(b).toMatchObject({ version: 50, deleted: true, recordedAt: T + 2 });
    expect(none).toBeUndefined();
  });

  it("are cleared only as they were read, so a change recorded meanwhile is kept", async () => {
    const { queue } = newQueue();
    await queue.recordVersions(
      [
        { member: member("a"), version: 100, deleted: false },
        { member: member("b"), version: 100, deleted: false },
      ],
      T,
    );
    const [a, b] = await queue.versions([member("a"), member("b")]);
    await queue.recordVersions([{ member: member("b"), version: 101, deleted: true }], T + 5);
    await queue.clearVersions([
      { member: member("a"), raw: a!.raw },
      { member: member("b"), raw: b!.raw },
    ]);
    const [afterA, afterB] = await queue.versions([member("a"), member("b")]);
    expect(afterA).toBeUndefined();
    expect(afterB).toMatchObject({ version: 101, deleted: true });
  });

  it("come with the claim, each key's own, with its bulk timeout record; a key without any has neither", async () => {
    const { queue } = newQueue();
    await queue.enqueue([key("a"), key("b"), key("c")], { lane: "live", now: T });
    await queue.recordVersions([{ member: member("a"), version: 100, deleted: false, etag: '"e-100"' }], T);
    const first = await queue.claim({ max: 3, leaseMs: 10, now: T });
    await queue.recordTimeouts(first.token, [member("b")], 500, T + 1);
    // The lease runs out; the reaper returns the keys, and the next claim reads the records afresh.
    await queue.reap(T + 20);
    const { items } = await queue.claim({ max: 3, leaseMs: 60_000, now: T + 20 });
    const byMember = new Map(items.map((item) => [item.member, item]));
    expect(byMember.get(member("a"))?.recorded).toMatchObject({ version: 100, deleted: false, etag: '"e-100"' });
    expect(byMember.get(member("a"))?.timeout).toBeUndefined();
    expect(byMember.get(member("b"))?.timeout).toEqual({ cap: 500, solo: 0, at: T + 1 });
    expect(byMember.get(member("b"))?.recorded).toBeUndefined();
    expect(byMember.get(member("c"))).toEqual({ key: key("c"), member: member("c"), attempts: 1, lane: "live" });
  });

  it("refuses a malformed record with BAD_ARGUMENT", async () => {
    const { keys } = newQueue();
    registerScripts(redis);
    await expect(runScript(redis, keys, "recordVersions", [T, member("a"), "soon", "0", ""])).rejects.toBeInstanceOf(
      QueueScriptError,
    );
  });
});
