import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKey } from "../../shared/core/keys.js";
import { createQueue } from "../../shared/queue/index.js";
import { queueKeys, type QueueKeys } from "../../shared/redis/keys.js";
import type { Lane, SourceQueue } from "../../shared/sync/ports.js";
import { services, uniqueName } from "../setup/services.js";

/**
 * Randomized runs of several simulated workers against one queue, with a fixed clock advanced by
 * the test. After every step the Redis structures are read back and checked against a small
 * model of who holds which lease: every key is in exactly one place (pending, in flight or dead)
 * unless it was acked with nothing owed since; nobody holds a key another worker still holds;
 * every stale settle is the one the model predicts. At the end everything drains: each key was
 * acked or dead-lettered.
 */

const KEY_COUNT = 40;
const WORKERS = 4;
const STEPS = 1200;
const LEASE_MS = 1000;
const SEEDS = [1, 2, 3, 20240611];

/** mulberry32: a seeded generator, so a failing seed replays exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Held {
  token: string;
  deadline: number;
  /** Enqueued again since this claim: the key is owed once more after the claim settles. */
  changed: boolean;
}

interface Snapshot {
  live: Set<string>;
  bulk: Set<string>;
  inflight: Set<string>;
  dead: Set<string>;
  lease: Record<string, string>;
  lane: Record<string, string>;
  dirty: Record<string, string>;
  attempts: Record<string, string>;
  errors: Record<string, string>;
  deadinfo: Record<string, string>;
  deadseq: Set<string>;
}

async function snapshot(redis: Redis, keys: QueueKeys): Promise<Snapshot> {
  const replies = await redis
    .multi()
    .zrange(keys.live, 0, -1)
    .zrange(keys.bulk, 0, -1)
    .zrange(keys.inflight, 0, -1)
    .zrange(keys.dead, 0, -1)
    .hgetall(keys.lease)
    .hgetall(keys.lane)
    .hgetall(keys.dirty)
    .hgetall(keys.attempts)
    .hgetall(keys.errors)
    .hgetall(keys.deadinfo)
    .zrange(keys.deadseq, 0, -1)
    .exec();
  const values = (replies ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const set = (i: number) => new Set(values[i] as string[]);
  const hash = (i: number) => values[i] as Record<string, string>;
  return {
    live: set(0),
    bulk: set(1),
    inflight: set(2),
    dead: set(3),
    lease: hash(4),
    lane: hash(5),
    dirty: hash(6),
    attempts: hash(7),
    errors: hash(8),
    deadinfo: hash(9),
    deadseq: set(10),
  };
}

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(services().redisUrl);
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

describe("queue under random workers", () => {
  it.each(SEEDS)("keeps every key in exactly one place and loses none (seed %i)", async (seed) => {
    const random = rng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const prefix = uniqueName("dlq-prop");
    prefixes.push(prefix);
    const source = "prop";
    const keys = queueKeys(prefix, source);
    const queue: SourceQueue = createQueue(redis, {
      prefix,
      retry: { maxAttempts: 4, backoffBaseMs: 100, backoffMaxMs: 800 },
      random,
    }).forSource(source);

    const universe = Array.from({ length: KEY_COUNT }, (_, i) => ({
      id: `doc-${i}`,
      pk: i % 3 === 0 ? null : `p${i % 5}`,
    }));
    const members = universe.map(encodeKey);
    const held = new Map<string, Held>();
    const enqueued = new Set<string>();
    /** Acked with nothing owed since: the only keys allowed to be nowhere. */
    const done = new Set<string>();
    const acked = new Set<string>();
    const claims: { token: string; members: string[] }[][] = Array.from({ length: WORKERS }, () => []);
    let now = 1_000_000;
    const counts = {
      claimed: 0,
      acked: 0,
      retried: 0,
      released: 0,
      deadLettered: 0,
      extended: 0,
      stale: 0,
      crashed: 0,
      reaped: 0,
    };

    /** Reads the Redis structures back and lists every way they disagree with the invariants. */
    const check = async (step: string): Promise<void> => {
      const s = await snapshot(redis, keys);
      const violations: string[] = [];
      const expectThat = (ok: boolean, what: string, m: string) => {
        if (!ok) violations.push(`${what}: ${m}`);
      };
      for (const m of members) {
        const places = [s.live.has(m), s.bulk.has(m), s.inflight.has(m), s.dead.has(m)].filter(Boolean).length;
        if (done.has(m) || !enqueued.has(m)) expectThat(places === 0, `should be nowhere, is in ${places} places`, m);
        else expectThat(places === 1, `should be in exactly one place, is in ${places}`, m);
        const h = held.get(m);
        expectThat(s.inflight.has(m) === (h !== undefined), "in flight iff held", m);
        expectThat(s.lease[m] === h?.token, "lease token is the holder's", m);
        expectThat(m in s.dirty === (h?.changed === true), "dirty iff enqueued while held", m);
        expectThat(m in s.lane === (h !== undefined), "lane recorded iff in flight", m);
        if (m in s.attempts)
          expectThat(s.live.has(m) || s.bulk.has(m) || s.inflight.has(m), "attempts only while owed", m);
        if (m in s.errors) expectThat(m in s.attempts, "error only with attempts", m);
        expectThat(m in s.deadinfo === s.dead.has(m), "dead info iff dead", m);
        expectThat(s.deadseq.has(m) === s.dead.has(m), "a dead-letter sequence number iff dead", m);
      }
      expect(violations, `seed ${seed}, after ${step} at ${now}`).toEqual([]);
    };

    const settleable = (w: number) => claims[w]!.filter((c) => c.members.length > 0);

    for (let step = 0; step < STEPS; step += 1) {
      const w = Math.floor(random() * WORKERS);
      const roll = random();
      let label: string;
      if (roll < 0.2) {
        const batch = Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(universe));
        const lane: Lane = random() < 0.6 ? "live" : "bulk";
        await queue.enqueue(batch, { lane, now, delayMs: random() < 0.8 ? 0 : 200 });
        for (const k of batch) {
          const m = encodeKey(k);
          enqueued.add(m);
          done.delete(m);
          const h = held.get(m);
          if (h) h.changed = true;
        }
        label = "enqueue";
      } else if (roll < 0.4) {
        const claim = await queue.claim({
          max: 1 + Math.floor(random() * 8),
          leaseMs: LEASE_MS,
          now,
          bulkShare: pick([0, 0.1, 0.5]),
        });
        for (const item of claim.items) {
          expect(held.has(item.member), `${item.member} claimed while held (seed ${seed})`).toBe(false);
          held.set(item.member, { token: claim.token, deadline: claim.leaseDeadline, changed: false });
        }
        claims[w]!.push({ token: claim.token, members: claim.items.map((i) => i.member) });
        counts.claimed += claim.items.length;
        label = "claim";
      } else if (roll < 0.75 && settleable(w).length > 0) {
        const claim = pick(settleable(w));
        const chosen = claim.members.filter(() => random() < 0.7);
        const action = pick(["ack", "ack", "retry", "release", "deadLetter", "extend"] as const);
        const stale = chosen.filter((m) => held.get(m)?.token !== claim.token).length;
        const valid = chosen.filter((m) => held.get(m)?.token === claim.token);
        let result: { settled: number; stale: number };
        if (action === "ack") result = await queue.ack(claim.token, chosen, now);
        else if (action === "release") result = await queue.release(claim.token, chosen, now);
        else if (action === "extend") result = await queue.extend(claim.token, chosen, LEASE_MS, now);
        else {
          const failures = chosen.map((m) => ({ member: m, error: `${action} at ${now}` }));
          result =
            action === "retry"
              ? await queue.retry(claim.token, failures, now)
              : await queue.deadLetter(claim.token, failures, now);
        }
        expect(result, `${action} (seed ${seed}, step ${step})`).toEqual(
          expect.objectContaining({ settled: valid.length, stale }),
        );
        counts.stale += stale;
        for (const m of valid) {
          if (action === "extend") {
            held.get(m)!.deadline = now + LEASE_MS;
            continue;
          }
          if (action === "ack" && !held.get(m)!.changed) {
            done.add(m);
            acked.add(m);
          }
          held.delete(m);
        }
        if (action !== "extend") claim.members = claim.members.filter((m) => !chosen.includes(m));
        counts[
          action === "ack"
            ? "acked"
            : action === "retry"
              ? "retried"
              : action === "release"
                ? "released"
                : action === "extend"
                  ? "extended"
                  : "deadLettered"
        ] += valid.length;
        label = action;
      } else if (roll < 0.8) {
        claims[w] = []; // the worker dies holding whatever it claimed
        counts.crashed += 1;
        label = "crash";
      } else if (roll < 0.9) {
        const expired = [...held].filter(([, h]) => h.deadline <= now).map(([m]) => m);
        const result = await queue.reap(now, KEY_COUNT);
        expect(result.requeued + result.deadLettered, `reap (seed ${seed}, step ${step})`).toBe(expired.length);
        for (const m of expired) held.delete(m);
        counts.reaped += expired.length;
        label = "reap";
      } else {
        now += Math.floor(random() * 600);
        label = "tick";
      }
      await check(`step ${step}: ${label}`);
    }

    // Drain: no more changes, every worker behaves; leases expire, backoffs pass.
    for (let round = 0; round < 50; round += 1) {
      now += 10_000;
      const expired = [...held].filter(([, h]) => h.deadline <= now).map(([m]) => m);
      await queue.reap(now, KEY_COUNT);
      for (const m of expired) held.delete(m);
      const claim = await queue.claim({ max: KEY_COUNT, leaseMs: LEASE_MS, now });
      for (const item of claim.items) {
        expect(held.has(item.member)).toBe(false);
        held.set(item.member, { token: claim.token, deadline: claim.leaseDeadline, changed: false });
      }
      const result = await queue.ack(
        claim.token,
        claim.items.map((i) => i.member),
        now,
      );
      expect(result).toEqual({ settled: claim.items.length, stale: 0 });
      for (const item of claim.items) {
        held.delete(item.member);
        done.add(item.member);
        acked.add(item.member);
      }
      await check(`drain round ${round}`);
      const stats = await queue.stats(now);
      if (stats.pending === 0 && stats.inflight === 0) break;
    }

    const end = await snapshot(redis, keys);
    expect(await queue.stats(now)).toMatchObject({ pending: 0, inflight: 0, dirty: 0 });
    for (const m of enqueued) {
      expect(acked.has(m) || end.dead.has(m), `${m} was neither acked nor dead-lettered (seed ${seed})`).toBe(true);
    }
    for (const info of Object.values(end.deadinfo)) {
      expect(["max attempts", "lease expired", "rejected"]).toContain((JSON.parse(info) as { reason: string }).reason);
    }
    // The run exercised what it claims to, not a quiet corner of the state space.
    expect(counts.claimed).toBeGreaterThan(100);
    for (const name of [
      "acked",
      "retried",
      "released",
      "deadLettered",
      "extended",
      "stale",
      "crashed",
      "reaped",
    ] as const) {
      expect(counts[name], `${name} never happened (seed ${seed})`).toBeGreaterThan(0);
    }
    expect(enqueued.size).toBe(KEY_COUNT);
  });
});
