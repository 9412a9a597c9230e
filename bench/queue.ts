import { connectRedis } from "../shared/redis/client.js";
import { createQueue } from "../shared/queue/index.js";
import type { BenchContext } from "./context.js";
import { benchKey } from "./docs.js";
import { pool, rateOf } from "./measure.js";

/**
 * The Redis queue alone, through its public API and Lua scripts: enqueue (1000 keys per call,
 * the HTTP producer's largest request, 4 calls in flight), then claim + ack in batches of 500
 * (the sync's batch) with 4 batches in flight.
 */
export async function measureQueue(ctx: BenchContext, log: (line: string) => void) {
  const redis = connectRedis(ctx.stack.redisUrl);
  try {
    const queue = createQueue(redis, { prefix: `bench-queue-${Date.now().toString(36)}` }).forSource("bench");
    const total = ctx.sizes.queueKeys;
    const keys = Array.from({ length: total }, (_, n) => benchKey(n));

    const CALL = 1000;
    let started = performance.now();
    await pool(Math.ceil(total / CALL), 4, async (i) => {
      await queue.enqueue(keys.slice(i * CALL, (i + 1) * CALL), { lane: "live", now: Date.now() });
    });
    const enqueue = rateOf(total, performance.now() - started);

    let acked = 0;
    started = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const claim = await queue.claim({ max: 500, leaseMs: 60_000, now: Date.now() });
          if (claim.items.length === 0) return;
          const result = await queue.ack(
            claim.token,
            claim.items.map((item) => item.member),
            Date.now(),
          );
          acked += result.settled;
        }
      }),
    );
    const claimAck = rateOf(acked, performance.now() - started);
    if (acked !== total) throw new Error(`claimed and acknowledged ${acked} of ${total} keys`);
    log(`  enqueue ${enqueue.perSec} keys/s, claim + ack ${claimAck.perSec} keys/s`);
    return { enqueue, claimAck };
  } finally {
    await redis.quit();
  }
}
