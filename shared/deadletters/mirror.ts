import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { DocKey } from "../core/keys.js";
import type { DeadLetter, SourceQueue } from "../queue/types.js";
import type { Logger } from "../telemetry/logger.js";

/** One dead letter as it leaves driftless: enough to find the document and see why it failed. */
export interface DeadLetterMessage {
  readonly source: string;
  readonly key: DocKey;
  readonly reason: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly deadLetteredAt: string;
  /** Stable for one dead-lettering of one key: a receiver with duplicate detection drops repeats. */
  readonly messageId: string;
}

/** Where dead letters are mirrored (a Service Bus queue; see shared/servicebus). */
export interface DeadLetterSender {
  send(messages: readonly DeadLetterMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** How far a source's dead letters have been mirrored, kept where every worker sees it (Redis). */
export interface MirrorCursorStore {
  load(): Promise<number>;
  save(deadLetteredAt: number): Promise<void>;
}

export interface DeadLetterMirror {
  /** Sends the dead letters made since the last tick; returns how many were sent. */
  tick(): Promise<number>;
}

const PAGE = 500;

/**
 * Mirrors a source's dead letters to a sender, at least once. The dead letters in Redis stay the
 * record (list, redrive and purge work on them); the mirror is a copy for people and tools that
 * watch a Service Bus queue. It reads the dead letters newer than the saved cursor (they are
 * kept in the order they were made) and moves the cursor after a successful send, so a crash
 * in between repeats messages (same messageId) rather than losing them.
 */
export function createDeadLetterMirror(deps: {
  readonly queue: SourceQueue;
  readonly sender: DeadLetterSender;
  readonly cursor: MirrorCursorStore;
  readonly clock: Clock;
  readonly logger: Logger;
}): DeadLetterMirror {
  const { queue, sender, cursor, clock, logger } = deps;
  return {
    /** Never throws: a failure (Redis or Service Bus away) is logged and the next tick tries again. */
    async tick() {
      try {
        const since = await cursor.load();
        const fresh = await deadLettersAfter(queue, since, clock.now());
        if (fresh.length === 0) return 0;
        await sender.send(fresh.map((letter) => toMessage(queue.source, letter)));
        await cursor.save(Math.max(...fresh.map((letter) => letter.deadLetteredAt)));
        logger.info({ source: queue.source, count: fresh.length }, "dead letters mirrored");
        return fresh.length;
      } catch (error) {
        logger.warn({ source: queue.source, err: describeError(error) }, "dead letters not mirrored; will try again");
        return 0;
      }
    },
  };
}

/** Dead letters made at or after `since` (the same millisecond may hold more), newest pages first. */
async function deadLettersAfter(queue: SourceQueue, since: number, now: number): Promise<DeadLetter[]> {
  const total = (await queue.stats(now)).deadLettered;
  const found: DeadLetter[] = [];
  for (let end = total; end > 0; end -= PAGE) {
    const offset = Math.max(0, end - PAGE);
    const page = await queue.listDeadLetters({ offset, limit: end - offset });
    found.push(...page.filter((letter) => letter.deadLetteredAt > since));
    if (page.length === 0 || page[0]!.deadLetteredAt <= since) break;
  }
  return found.sort((a, b) => a.deadLetteredAt - b.deadLetteredAt);
}

function toMessage(source: string, letter: DeadLetter): DeadLetterMessage {
  return {
    source,
    key: letter.key,
    reason: letter.reason,
    attempts: letter.attempts,
    lastError: letter.lastError,
    deadLetteredAt: new Date(letter.deadLetteredAt).toISOString(),
    messageId: `${source}|${letter.member}|${letter.deadLetteredAt}`,
  };
}
