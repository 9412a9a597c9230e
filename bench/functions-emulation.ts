/**
 * What the Azure Functions host does around driftless's handlers, emulated in process so that
 * the bench can drive the real handlers without a host (functions-host.ts): the Cosmos DB
 * trigger's change-feed polling, Service Bus delivering work tickets, and the timer's ticks.
 * Only the host's scheduling is emulated; Redis, Elasticsearch and Cosmos are the real ones.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ChangeFeedReader } from "../shared/cosmos/change-feed.js";
import type { Ticket, TicketSender } from "../shared/dispatch/tickets.js";

/**
 * The period of an NCRONTAB schedule of the two shapes a sync timer uses: every N seconds
 * (`*\/N * * * * *`) or every M minutes (`0 *\/M * * * *`). Anything else is refused rather than
 * guessed: the bench would report a topology it did not run.
 */
export function schedulePeriodMs(schedule: string): number {
  const fields = schedule.trim().split(/\s+/);
  const every = (field: string | undefined) => /^\*\/(\d+)$/.exec(field ?? "")?.[1];
  const restIsAny = (from: number) => fields.length === 6 && fields.slice(from).every((field) => field === "*");
  const seconds = every(fields[0]);
  if (seconds && restIsAny(1) && Number(seconds) > 0) return Number(seconds) * 1000;
  const minutes = every(fields[1]);
  if (fields[0] === "0" && minutes && restIsAny(2) && Number(minutes) > 0) return Number(minutes) * 60_000;
  throw new Error(
    `the bench emulates a timer schedule of "*/N * * * * *" or "0 */M * * * *", not "${schedule}"; set SYNC_SCHEDULE to one`,
  );
}

export interface DeliveryStats {
  /** Tickets handed to the sender. */
  readonly sent: number;
  /** Handler invocations, retries included. */
  readonly invocations: number;
  /** Invocations that threw (Service Bus would redeliver them). */
  readonly failed: number;
  /** Tickets given up on after maxDeliveryCount attempts (Service Bus would dead-letter them). */
  readonly deadLettered: number;
  /** The most invocations that ran at once. */
  readonly maxInFlight: number;
  readonly inFlight: number;
  /** Time spent inside the handler, summed over invocations. */
  readonly busyMs: number;
}

export interface ServiceBusEmulator {
  /** The TicketSender port, for useTicketSender (functions/lib/ticket-sender.ts). */
  readonly sender: TicketSender;
  stats(): DeliveryStats;
}

/**
 * A queue in process that delivers each ticket to `deliver` `latencyMs` after it was sent, with
 * at most `maxConcurrentCalls` deliveries running at once (the trigger's limit per instance);
 * the rest wait their turn, in order. A delivery that throws is retried, as Service Bus
 * redelivers a message whose lock was abandoned, up to `maxDeliveryCount` attempts in all. The
 * handler gets the body as the Node.js worker does: the JSON the sender put in, parsed again.
 */
export function serviceBusEmulator(options: {
  readonly latencyMs: number;
  readonly maxConcurrentCalls: number;
  readonly maxDeliveryCount: number;
  readonly deliver: (body: unknown) => Promise<void>;
  readonly onError: (error: unknown, ticket: Ticket, attempt: number) => void;
}): ServiceBusEmulator {
  const waiting: { ticket: Ticket; attempt: number }[] = [];
  let closed = false;
  let sent = 0;
  let invocations = 0;
  let failed = 0;
  let deadLettered = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let busyMs = 0;
  const pump = () => {
    while (!closed && inFlight < options.maxConcurrentCalls && waiting.length > 0) {
      const { ticket, attempt } = waiting.shift()!;
      inFlight++;
      invocations++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const started = performance.now();
      void options
        .deliver(JSON.parse(JSON.stringify(ticket)))
        .catch((error: unknown) => {
          failed++;
          options.onError(error, ticket, attempt);
          if (attempt < options.maxDeliveryCount) arrive(ticket, attempt + 1);
          else deadLettered++;
        })
        .finally(() => {
          busyMs += performance.now() - started;
          inFlight--;
          pump();
        });
    }
  };
  const arrive = (ticket: Ticket, attempt: number) => {
    setTimeout(() => {
      waiting.push({ ticket, attempt });
      pump();
    }, options.latencyMs).unref();
  };
  return {
    sender: {
      async send(tickets) {
        if (closed) throw new Error("the emulated Service Bus is closed");
        for (const ticket of tickets) {
          sent++;
          arrive(ticket, 1);
        }
      },
      async close() {
        closed = true;
      },
    },
    stats: () => ({ sent, invocations, failed, deadLettered, maxInFlight, inFlight, busyMs: Math.round(busyMs) }),
  };
}

export interface FeedStats {
  readonly reads: number;
  readonly batches: number;
  readonly changes: number;
  readonly failedReads: number;
  readonly failedBatches: number;
}

/**
 * The Cosmos DB trigger's loop for one lease: read the change feed; a page with changes goes to
 * the handler, and once the handler returned the next read follows at once; a read that found
 * nothing waits `feedPollDelayMs` before the next. This is the host's documented behaviour: the
 * trigger's `feedPollDelay` is its wait before polling a partition again once the changes there
 * have been drained, 5 s unless set (learn.microsoft.com, "Azure Cosmos DB trigger for Azure
 * Functions 2.x and higher", Configuration), and the change feed processor under it waits its
 * poll interval only after a read that returned nothing (ChangeFeedProcessorBuilder.WithPollInterval).
 * A handler that throws gets the same batch again after the trigger's retry policy's wait
 * (exponential, from `retryMinMs` to `retryMaxMs`, as functions/lib/capture-trigger.ts sets it):
 * the lease's checkpoint does not move past a batch that failed.
 */
export async function followChangeFeed(
  reader: ChangeFeedReader,
  options: {
    readonly feedPollDelayMs: number;
    readonly retryMinMs: number;
    readonly retryMaxMs: number;
    readonly handle: (changes: unknown[]) => Promise<void>;
    readonly onError: (error: unknown) => void;
    readonly signal: AbortSignal;
  },
  stats: { -readonly [K in keyof FeedStats]: FeedStats[K] },
): Promise<void> {
  const wait = (ms: number) => sleep(ms, undefined, { signal: options.signal }).catch(() => undefined);
  while (!options.signal.aborted) {
    let changes: unknown[];
    try {
      stats.reads++;
      changes = [...(await reader.readNext()).changes];
    } catch (error) {
      stats.failedReads++;
      options.onError(error);
      await wait(options.feedPollDelayMs);
      continue;
    }
    if (changes.length === 0) {
      await wait(options.feedPollDelayMs);
      continue;
    }
    for (let retryMs = options.retryMinMs; !options.signal.aborted; ) {
      try {
        await options.handle(changes);
        stats.batches++;
        stats.changes += changes.length;
        break;
      } catch (error) {
        stats.failedBatches++;
        options.onError(error);
        await wait(retryMs);
        retryMs = Math.min(retryMs * 2, options.retryMaxMs);
      }
    }
  }
}

/**
 * The timer trigger: `run` at each multiple of `periodMs` on the wall clock (where an NCRONTAB
 * schedule of that period fires), never two at once: a tick that comes while a run goes on is
 * skipped, as the host does not start a timer function again before its run ended.
 */
export async function tickEvery(periodMs: number, run: () => Promise<void>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const next = (Math.floor(Date.now() / periodMs) + 1) * periodMs;
    await sleep(next - Date.now(), undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    await run();
  }
}
