import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { DocKey } from "../core/keys.js";
import type { NumberedDeadLetter, SourceQueue } from "../sync/ports.js";
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

/**
 * How far a source's dead letters have been mirrored, kept where every worker sees it (Redis):
 * the sequence number (given by Redis to each dead-lettering) of the last letter sent.
 */
export interface MirrorCursorStore {
  load(): Promise<number>;
  save(sequence: number): Promise<void>;
}

export interface DeadLetterMirror {
  /** Sends the dead letters made since the last tick; returns how many were sent. */
  tick(): Promise<number>;
}

const PAGE = 500;
/** A tick ends after this many pages (the rest wait for the next tick), so it stays within a timer run. */
const MAX_PAGES_PER_TICK = 10;

/**
 * Mirrors a source's dead letters to a sender, at least once. The dead letters in Redis stay the
 * record (list, redrive and purge work on them); the mirror is a copy for people and tools that
 * watch a Service Bus queue.
 *
 * It selects by the number Redis gives each dead-lettering (shared/redis/lua/includes/
 * deadletter.lua), not by time: the time comes from the clock of whichever worker dead-lettered
 * the key, and a cursor on it skipped a letter stamped with the same millisecond as the last one
 * sent, or with an earlier one by a worker whose clock is behind. It reads the letters numbered
 * after the saved cursor, page by page, and moves the cursor after each successful send, so a
 * crash in between repeats messages (same messageId) rather than losing them. A letter redriven,
 * revived or purged before a tick sent it is not sent: it is no longer a dead letter.
 */
export function createDeadLetterMirror(deps: {
  readonly queue: SourceQueue;
  readonly sender: DeadLetterSender;
  readonly cursor: MirrorCursorStore;
  /** Not read since letters are selected by sequence number; kept so that callers need not change. */
  readonly clock: Clock;
  readonly logger: Logger;
}): DeadLetterMirror {
  const { queue, sender, cursor, logger } = deps;
  return {
    /** Never throws: a failure (Redis or Service Bus away) is logged and the next tick tries again. */
    async tick() {
      let sent = 0;
      try {
        let after = await cursor.load();
        for (let pages = 0; pages < MAX_PAGES_PER_TICK; pages++) {
          const fresh = await queue.listDeadLettersAfter(after, PAGE);
          if (fresh.length === 0) break;
          await sender.send(fresh.map((entry) => toMessage(queue.source, entry)));
          after = fresh.at(-1)!.sequence;
          await cursor.save(after);
          sent += fresh.length;
          if (fresh.length < PAGE) break;
        }
      } catch (error) {
        logger.warn({ source: queue.source, err: describeError(error) }, "dead letters not mirrored; will try again");
      }
      if (sent > 0) logger.info({ source: queue.source, count: sent }, "dead letters mirrored");
      return sent;
    },
  };
}

function toMessage(source: string, { sequence, letter }: NumberedDeadLetter): DeadLetterMessage {
  return {
    source,
    key: letter.key,
    reason: letter.reason,
    attempts: letter.attempts,
    lastError: letter.lastError,
    deadLetteredAt: new Date(letter.deadLetteredAt).toISOString(),
    // The sequence number last: a message id cut to Service Bus's 128 characters keeps its tail.
    messageId: `${source}|${letter.member}|${sequence}`,
  };
}
