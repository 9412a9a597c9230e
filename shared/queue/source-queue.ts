import { randomUUID } from "node:crypto";
import { ValidationError } from "../core/errors.js";
import { decodeKey, encodeKey } from "../core/keys.js";
import type { RedisClient } from "../redis/client.js";
import type { QueueKeys } from "../redis/keys.js";
import type { QueueScriptName } from "../redis/scripts.js";
import type {
  Claim,
  ClaimedKey,
  DeadLetter,
  Lane,
  NumberedDeadLetter,
  QueueStats,
  RecordedVersion,
  RetryResult,
  SettleResult,
  SourceQueue,
  TimeoutRecord,
} from "../sync/ports.js";
import { runScript } from "./run-script.js";
import type { RetryPolicy } from "./types.js";

export interface SourceQueueDeps {
  readonly redis: RedisClient;
  readonly source: string;
  readonly keys: QueueKeys;
  readonly retry: RetryPolicy;
  /** Share of a backoff delay taken off at random, so failed keys do not return in step. */
  readonly jitter: number;
  readonly random: () => number;
}

/** Members per script call: each call is atomic, and none blocks Redis for long. */
export const MEMBERS_PER_CALL = 1000;
/** Errors are kept for people to read, not whole response bodies. */
const MAX_ERROR_LENGTH = 2000;
const DEFAULT_DEAD_LETTER_REASON = "rejected";
/** The enqueue script's mark of a duplicate in its outcomes string. */
const ONE = "1".charCodeAt(0);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A stored version record "<version>:<deleted>:<recorded at>:<etag>" (recordVersions-1.lua). */
function parseVersion(raw: string): RecordedVersion | undefined {
  const [versionText, deletedText, recordedAtText, ...etagParts] = raw.split(":");
  const version = Number(versionText);
  const recordedAt = Number(recordedAtText);
  if (!Number.isFinite(version) || !Number.isFinite(recordedAt)) return undefined;
  const etag = etagParts.join(":");
  return { version, deleted: deletedText === "1", recordedAt, raw, ...(etag ? { etag } : {}) };
}

/** A stored timeout record "<cap>:<solo>:<at>" (recordTimeouts-3.lua). */
function parseTimeout(raw: string): TimeoutRecord | undefined {
  const [cap, solo, at] = raw.split(":").map(Number);
  if (!Number.isSafeInteger(cap) || !Number.isSafeInteger(solo) || !Number.isSafeInteger(at)) return undefined;
  return { cap: cap!, solo: solo!, at: at! };
}

export function redisSourceQueue(deps: SourceQueueDeps): SourceQueue {
  const { redis, source, keys, retry: policy } = deps;
  const run = <N extends QueueScriptName>(name: N, args: readonly (string | number)[]) =>
    runScript(redis, keys, name, args);

  async function settle(
    name: "ack" | "release",
    token: string,
    members: readonly string[],
    now: number,
  ): Promise<SettleResult> {
    checkTime(now);
    checkMembers(members);
    return sumSettled(chunks(members), async (chunk) => run(name, [now, token, ...chunk]));
  }

  return {
    source,

    async enqueue(docKeys, { lane, now, delayMs = 0 }) {
      checkTime(now);
      checkTime(delayMs, "delayMs");
      checkLane(lane);
      let enqueued = 0;
      let duplicates = 0;
      const isDuplicate: boolean[] = [];
      for (const chunk of chunks(docKeys.map(encodeKey))) {
        const [e, d, outcomes] = await run("enqueue", [now, delayMs, lane, ...chunk]);
        enqueued += e;
        duplicates += d;
        for (let i = 0; i < outcomes.length; i++) isDuplicate.push(outcomes.charCodeAt(i) === ONE);
      }
      return { enqueued, duplicates, isDuplicate };
    },

    async claim({ max, leaseMs, now, bulkShare = 0.1 }): Promise<Claim> {
      checkTime(now);
      checkCount(max, "max");
      checkCount(leaseMs, "leaseMs");
      if (!(bulkShare >= 0 && bulkShare <= 1)) invalid("bulkShare", "must be between 0 and 1");
      const token = randomUUID();
      const reply = await run("claim", [now, max, leaseMs, bulkShare, token]);
      const items: ClaimedKey[] = [];
      for (let i = 0; i + 4 < reply.length; i += 5) {
        const member = String(reply[i]);
        const recorded = typeof reply[i + 3] === "string" ? parseVersion(reply[i + 3] as string) : undefined;
        const timeout = typeof reply[i + 4] === "string" ? parseTimeout(reply[i + 4] as string) : undefined;
        const item: Mutable<ClaimedKey> = {
          key: decodeKey(member),
          member,
          attempts: Number(reply[i + 1]),
          lane: reply[i + 2] as Lane,
        };
        if (recorded) item.recorded = recorded;
        if (timeout) item.timeout = timeout;
        items.push(item);
      }
      return { token, leaseDeadline: now + leaseMs, items };
    },

    ack: (token, members, now) => settle("ack", token, members, now),
    release: (token, members, now) => settle("release", token, members, now),

    async retry(token, failures, now): Promise<RetryResult> {
      checkTime(now);
      checkMembers(failures.map((f) => f.member));
      const { maxAttempts, backoffBaseMs, backoffMaxMs } = policy;
      let deadLettered = 0;
      const result = await sumSettled(chunks(failures), async (chunk) => {
        const args = chunk.flatMap((f) => [f.member, clip(f.error), deps.random() * deps.jitter]);
        const [settled, stale, dead] = await run("retry", [
          now,
          token,
          maxAttempts,
          backoffBaseMs,
          backoffMaxMs,
          ...args,
        ]);
        deadLettered += dead;
        return [settled, stale];
      });
      return { ...result, deadLettered };
    },

    async deadLetter(token, failures, now) {
      checkTime(now);
      checkMembers(failures.map((f) => f.member));
      return sumSettled(chunks(failures), async (chunk) => {
        const args = chunk.flatMap((f) => [f.member, f.reason ?? DEFAULT_DEAD_LETTER_REASON, clip(f.error)]);
        return run("deadLetter", [now, token, ...args]);
      });
    },

    async reject(failures, { lane, now }) {
      checkTime(now);
      checkLane(lane);
      checkMembers(failures.map((f) => f.member));
      return sum(chunks(failures), (chunk) =>
        run("reject", [
          now,
          lane,
          ...chunk.flatMap((f) => [f.member, f.reason ?? DEFAULT_DEAD_LETTER_REASON, clip(f.error)]),
        ]),
      );
    },

    async extend(token, members, leaseMs, now) {
      checkTime(now);
      checkCount(leaseMs, "leaseMs");
      checkMembers(members);
      return sumSettled(chunks(members), async (chunk) => run("extend", [now, leaseMs, token, ...chunk]));
    },

    async reap(now, max = MEMBERS_PER_CALL) {
      checkTime(now);
      checkCount(max, "max");
      const [requeued, deadLettered] = await run("reap", [now, max, policy.maxAttempts]);
      return { requeued, deadLettered };
    },

    async stats(now): Promise<QueueStats> {
      checkTime(now);
      const [pendingLive, pendingBulk, due, inflight, dirty, deadLettered, oldestPendingAgeMs, lastSyncAt] = await run(
        "stats",
        [now],
      );
      return {
        pending: pendingLive + pendingBulk,
        pendingLive,
        pendingBulk,
        due,
        inflight,
        dirty,
        deadLettered,
        oldestPendingAgeMs,
        lastSyncAt: lastSyncAt === null ? null : Number(lastSyncAt),
      };
    },

    async listDeadLetters({ offset = 0, limit = 100 } = {}) {
      if (!Number.isSafeInteger(offset) || offset < 0) invalid("offset", "must be a non-negative integer");
      checkCount(limit, "limit");
      const reply = await run("listDeadLetters", [offset, Math.min(limit, MEMBERS_PER_CALL)]);
      const page: DeadLetter[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const member = String(reply[i]);
        page.push({ key: decodeKey(member), member, ...parseDeadInfo(reply[i + 1] ?? null) });
      }
      return page;
    },

    async listDeadLettersAfter(sequence, limit = 500) {
      if (!Number.isSafeInteger(sequence) || sequence < 0) invalid("sequence", "must be a non-negative integer");
      checkCount(limit, "limit");
      const reply = await run("listDeadLettersAfter", [sequence, Math.min(limit, MEMBERS_PER_CALL)]);
      const page: NumberedDeadLetter[] = [];
      for (let i = 0; i + 2 < reply.length; i += 3) {
        const member = String(reply[i]);
        page.push({
          sequence: Number(reply[i + 2]),
          letter: { key: decodeKey(member), member, ...parseDeadInfo(reply[i + 1] ?? null) },
        });
      }
      return page;
    },

    async redrive(now, members) {
      checkTime(now);
      if (members) {
        checkMembers(members);
        return sum(chunks(members), (chunk) => run("redrive", [now, 0, ...chunk]));
      }
      return drain((count) => run("redrive", [now, count]));
    },

    async purgeDeadLetters(members) {
      if (members) {
        checkMembers(members);
        return sum(chunks(members), (chunk) => run("purgeDeadLetters", [0, ...chunk]));
      }
      return drain((count) => run("purgeDeadLetters", [count]));
    },

    async recordVersions(entries, now) {
      checkTime(now);
      for (const chunk of chunks(entries)) {
        await run("recordVersions", [
          now,
          ...chunk.flatMap(({ member, version, deleted, etag }) => [member, version, deleted ? "1" : "0", etag ?? ""]),
        ]);
      }
    },

    async versions(members) {
      if (members.length === 0) return [];
      const raws = await redis.hmget(keys.versions, ...members);
      return raws.map((raw) => (raw === null ? undefined : parseVersion(raw)));
    },

    async timeouts(members) {
      if (members.length === 0) return [];
      const raws = await redis.hmget(keys.timeouts, ...members);
      return raws.map((raw) => (raw === null ? undefined : parseTimeout(raw)));
    },

    async recordTimeouts(token, members, size, now) {
      checkTime(now);
      checkCount(size, "size");
      checkMembers(members);
      const solos: number[] = [];
      for (const chunk of chunks(members)) solos.push(...(await run("recordTimeouts", [now, token, size, ...chunk])));
      return solos;
    },

    async clearTimeouts(members) {
      for (const chunk of chunks(members)) await redis.hdel(keys.timeouts, ...chunk);
    },

    async clearVersions(records) {
      for (const chunk of chunks(records))
        await run(
          "clearVersions",
          chunk.flatMap(({ member, raw }) => [member, raw]),
        );
    },

    async markSynced(now) {
      checkTime(now);
      await run("markSynced", [now]);
    },
  };
}

function parseDeadInfo(json: string | null): Omit<DeadLetter, "key" | "member"> {
  const info = (json ? JSON.parse(json) : {}) as Partial<Record<keyof DeadLetter, unknown>>;
  return {
    reason: String(info.reason ?? "unknown"),
    attempts: Number(info.attempts ?? 0),
    lastError: String(info.lastError ?? ""),
    deadLetteredAt: Number(info.deadLetteredAt ?? 0),
    lane: info.lane === "bulk" ? "bulk" : "live",
  };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += MEMBERS_PER_CALL) out.push(items.slice(i, i + MEMBERS_PER_CALL));
  return out;
}

async function sum<T>(parts: readonly T[], run: (part: T) => Promise<number>): Promise<number> {
  let total = 0;
  for (const part of parts) total += await run(part);
  return total;
}

async function sumSettled<T>(
  parts: readonly T[],
  run: (part: T) => Promise<readonly [number, number]>,
): Promise<SettleResult> {
  let settled = 0;
  let stale = 0;
  for (const part of parts) {
    const [s, t] = await run(part);
    settled += s;
    stale += t;
  }
  return { settled, stale };
}

/** "All of them", in atomic batches, until a batch comes back short. */
async function drain(batch: (count: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch(MEMBERS_PER_CALL);
    total += n;
    if (n < MEMBERS_PER_CALL) return total;
  }
}

function clip(error: string): string {
  return error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH)}…` : error;
}

function invalid(name: string, message: string): never {
  throw new ValidationError("invalid_argument", `${name} ${message}`);
}

function checkTime(ms: number, name = "now"): void {
  if (!Number.isSafeInteger(ms) || ms < 0) invalid(name, `must be a non-negative integer of milliseconds, got ${ms}`);
}

function checkCount(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 1) invalid(name, `must be a positive integer, got ${n}`);
}

function checkLane(lane: string): asserts lane is Lane {
  if (lane !== "live" && lane !== "bulk") invalid("lane", `must be "live" or "bulk", got ${JSON.stringify(lane)}`);
}

function checkMembers(members: readonly string[]): void {
  for (const member of members) {
    if (typeof member !== "string" || member === "") invalid("member", "must be an encoded document key");
  }
}
