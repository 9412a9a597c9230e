import { describe, expect, it } from "vitest";
import type { DocKey } from "../../shared/core/keys.js";
import {
  createDeadLetterMirror,
  type DeadLetterMessage,
  type DeadLetterSender,
} from "../../shared/deadletters/mirror.js";
import { redisMirrorCursor } from "../../shared/deadletters/redis-cursor.js";
import { createQueue } from "../../shared/queue/index.js";
import type { SourceQueue } from "../../shared/sync/ports.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { useTestRedis } from "../setup/redis.js";

const T = 1_700_000_000_000;
const SOURCE = "orders";
const { redis, prefix: freshPrefix } = useTestRedis();

/** The sender interface, recording every message it is given; `failNext` makes the next send throw. */
function recordingSender() {
  const sent: DeadLetterMessage[] = [];
  let failures = 0;
  const sender: DeadLetterSender & { sent: DeadLetterMessage[]; failNext(): void } = {
    sent,
    failNext() {
      failures++;
    },
    async send(messages) {
      if (failures > 0) {
        failures--;
        throw new Error("service bus unavailable");
      }
      sent.push(...messages);
    },
    async close() {},
  };
  return sender;
}

/** Dead-letters one key the way the sync does, with the dead-lettering worker's own clock at `now`. */
async function deadLetterAt(queue: SourceQueue, id: string, now: number): Promise<void> {
  const key: DocKey = { id, pk: "t" };
  await queue.enqueue([key], { lane: "live", now });
  const claim = await queue.claim({ max: 10, leaseMs: 60_000, now });
  const item = claim.items.find((claimed) => claimed.key.id === id)!;
  expect(await queue.deadLetter(claim.token, [{ member: item.member, error: "mapping conflict" }], now)).toEqual({
    settled: 1,
    stale: 0,
  });
}

describe("dead-letter mirror", () => {
  it("sends letters with equal and skewed timestamps exactly once, survives a restart and retries a failed send", async () => {
    const prefix = freshPrefix("mirror");
    const queue = createQueue(redis, { prefix }).forSource(SOURCE);
    const sender = recordingSender();
    // The clock the mirror runs with plays no part in what it selects.
    const mirror = (clock = { now: () => T }) =>
      createDeadLetterMirror({
        queue,
        sender,
        cursor: redisMirrorCursor(redis, prefix, SOURCE),
        clock,
        logger: silentLogger,
      });
    const first = mirror();
    const ids = () => sender.sent.map((message) => message.key.id);

    await deadLetterAt(queue, "a", T);
    expect(await first.tick()).toBe(1);

    // Another worker in the same millisecond, and one whose clock is five seconds behind.
    await deadLetterAt(queue, "same-ms", T);
    await deadLetterAt(queue, "skewed", T - 5000);
    expect(await first.tick()).toBe(2);
    expect(ids()).toEqual(["a", "same-ms", "skewed"]);
    expect(new Set(sender.sent.map((message) => message.messageId)).size).toBe(3);

    // A new mirror (a restarted worker, another instance) resends nothing.
    const restarted = mirror({ now: () => T + 60_000 });
    expect(await restarted.tick()).toBe(0);
    expect(await first.tick()).toBe(0);

    // A failed send is tried again on the next tick, and then not again.
    await deadLetterAt(queue, "after-outage", T - 1);
    sender.failNext();
    expect(await restarted.tick()).toBe(0);
    expect(ids()).toEqual(["a", "same-ms", "skewed"]);
    expect(await restarted.tick()).toBe(1);
    expect(await mirror().tick()).toBe(0);
    expect(ids()).toEqual(["a", "same-ms", "skewed", "after-outage"]);
    expect(sender.sent.at(-1)).toMatchObject({
      source: SOURCE,
      key: { id: "after-outage", pk: "t" },
      reason: "rejected",
      lastError: "mapping conflict",
    });
  });

  it("sends a key dead-lettered again after a redrive as a new message", async () => {
    const prefix = freshPrefix("mirror");
    const queue = createQueue(redis, { prefix }).forSource(SOURCE);
    const sender = recordingSender();
    const mirror = createDeadLetterMirror({
      queue,
      sender,
      cursor: redisMirrorCursor(redis, prefix, SOURCE),
      clock: { now: () => T },
      logger: silentLogger,
    });

    await deadLetterAt(queue, "again", T);
    expect(await mirror.tick()).toBe(1);
    expect(await queue.redrive(T)).toBe(1);
    await deadLetterAt(queue, "again", T);
    expect(await mirror.tick()).toBe(1);
    const [before, after] = sender.sent;
    expect(after!.key.id).toBe("again");
    expect(after!.messageId).not.toBe(before!.messageId);
  });
});
