import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { RedisClient } from "../redis/client.js";
import { wakeKeys } from "../redis/keys.js";
import { registerScripts, scriptCommand } from "../redis/scripts.js";
import type { SourceQueue } from "../sync/ports.js";
import type { Logger } from "../telemetry/logger.js";
import type { TicketSender } from "./tickets.js";

/**
 * The wake-up (Azure Functions with Service Bus): an enqueue on an idle source sends a work
 * ticket at once, so `sync-ticket` starts within a fraction of a second instead of at the next
 * timer run, which stays as the backstop. The state lives in Redis, shared by every instance:
 * one ticket per source per debounce window however many instances enqueue, and none while a
 * ticket's drain runs (that drain claims the new keys itself). So each ticket drain leads to at
 * most one more (the last to end, when keys are still due): the wake-up never multiplies tickets;
 * scaling out to a backlog is the timer's dispatch.
 */
export interface WakeUp {
  /** Sends one ticket for the source unless a drain of it runs or one was sent in this window; true when it sent. */
  wake(source: string): Promise<boolean>;
  /**
   * A ticket's drain (`id`, unique per invocation) starts: enqueues send no ticket until every
   * running drain has ended, or passed its `ttlMs` (its instance died).
   */
  drainStarted(source: string, id: string, ttlMs: number): Promise<void>;
  /**
   * The drain ended. When no other drain of the source runs, the next enqueue wakes it at once;
   * returns how many still run. Keys enqueued while the last drain was ending (after its last
   * empty claim, before this) sent no ticket, so the caller wakes the source if anything is due.
   */
  drainEnded(source: string, id: string): Promise<number>;
}

export interface WakeUpOptions {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly sender: TicketSender;
  /** At most one ticket per source in this long, while no drain has started. */
  readonly debounceMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function createWakeUp({ redis, prefix, sender, debounceMs, clock, logger }: WakeUpOptions): WakeUp {
  registerScripts(redis);
  // Looked up per call, not bound once: a test may define the scripts again on the connection.
  const run = async (name: "wake" | "startDrain" | "endDrain", ...args: (string | number)[]) =>
    (await scriptCommand(redis, name)(...args)) as number;
  return {
    async wake(source) {
      const keys = wakeKeys(prefix, source);
      // lua/wake-2.lua: no drain running and no ticket sent in this window → this caller sends.
      if ((await run("wake", keys.sent, keys.draining, debounceMs, clock.now())) !== 1) return false;
      try {
        await sender.send([{ kind: "sync", source }]);
        return true;
      } catch (error) {
        // The keys are in Redis already and the timer drains them at the latest: a failed wake-up
        // costs freshness, not data, so the enqueue still succeeds. The next enqueue tries again.
        await redis.del(keys.sent).catch(() => undefined);
        logger.warn({ source, err: describeError(error) }, "wake-up ticket not sent; the timer will drain the source");
        return false;
      }
    },
    async drainStarted(source, id, ttlMs) {
      await run("startDrain", wakeKeys(prefix, source).draining, id, clock.now() + ttlMs, ttlMs);
    },
    async drainEnded(source, id) {
      const keys = wakeKeys(prefix, source);
      return run("endDrain", keys.draining, keys.sent, id, clock.now());
    },
  };
}

/**
 * The queue decorator: a live-lane enqueue that made anything pending wakes the source. Capture
 * and the HTTP producer both enqueue through it; reimport and reconcile (the bulk lane) are
 * drained by their jobs' own passes and the timer.
 */
export function wakingQueue(queue: SourceQueue, wakeUp: WakeUp, logger: Logger): SourceQueue {
  return {
    ...queue,
    async enqueue(keys, options) {
      const result = await queue.enqueue(keys, options);
      if (options.lane === "live" && result.enqueued > 0) {
        await wakeUp.wake(queue.source).catch((error: unknown) => {
          logger.warn(
            { source: queue.source, err: describeError(error) },
            "wake-up check failed; the timer will drain the source",
          );
        });
      }
      return result;
    },
  };
}
