/**
 * The Functions topology in a process of its own, as the host would run it (functions-freshness.ts
 * starts it and times the writes): the real handlers of functions/capture.ts, sync-ticket.ts and
 * sync-timer.ts, with the configuration the Functions app reads (functions/lib/services.ts) from
 * this process's environment, driven by functions-emulation.ts: the Cosmos DB trigger's
 * change-feed polling at CAPTURE_FEED_POLL_DELAY_MS, Service Bus delivering the wake-up and
 * timer tickets through the TicketSender port (useTicketSender), and the timer's ticks at
 * SYNC_SCHEDULE's period.
 *
 * Messages: it sends `{ type: "ready", topology }` once it follows the change feed; it answers
 * `"stats"` with `{ type: "stats", ... }` and `"captured"` with when each document id first reached
 * the capture handler; `"idle"` also runs, at each tick from then on, the timer
 * as it runs without Service Bus (a drain pass until nothing is due), to time what an idle tick
 * costs there; `"exit"` stops it.
 */
import { readFileSync } from "node:fs";
import { on } from "node:events";
import functions from "@azure/functions";
import { openChangeFeed } from "../shared/cosmos/change-feed.js";
import { createCosmosClient } from "../shared/cosmos/client.js";
import { describeError } from "../shared/core/errors.js";
import { captureHandler } from "../functions/capture.js";
import { captureTriggerOptions } from "../functions/lib/capture-trigger.js";
import { getConfig, getReadyServices } from "../functions/lib/services.js";
import { useTicketSender } from "../functions/lib/ticket-sender.js";
import { syncTicket } from "../functions/sync-ticket.js";
import { syncTimer, syncTimerHandler } from "../functions/sync-timer.js";
import {
  followChangeFeed,
  schedulePeriodMs,
  serviceBusEmulator,
  tickEvery,
  type FeedStats,
} from "./functions-emulation.js";

const { InvocationContext } = functions;

/**
 * Service Bus's delivery latency, send to the receiver's handler: an assumption, not a measured
 * figure (tens of milliseconds is the usual order for a Standard namespace in the same region).
 * BENCH_SERVICEBUS_LATENCY_MS replaces it.
 */
const SERVICE_BUS_LATENCY_MS = Number(process.env.BENCH_SERVICEBUS_LATENCY_MS ?? 30);
/** Service Bus's own default for a queue: a message is dead-lettered after this many deliveries. */
const MAX_DELIVERY_COUNT = 10;
/**
 * host.json's extensions.serviceBus.maxConcurrentCalls, or the extension's default when it sets
 * none (16 per instance in the Service Bus bindings' host.json settings).
 */
const maxConcurrentCalls = (() => {
  const host = JSON.parse(readFileSync("host.json", "utf8")) as {
    extensions?: { serviceBus?: { maxConcurrentCalls?: number } };
  };
  return host.extensions?.serviceBus?.maxConcurrentCalls ?? 16;
})();

const send = (message: unknown) => {
  if (!process.send) throw new Error("run this through bench/functions-freshness.ts (it needs an IPC channel)");
  process.send(message);
};
const messages = on(process, "message");
const problem = (what: string, error: unknown) => console.error(`functions-host: ${what}: ${describeError(error)}`);
let invocations = 0;
/** BENCH_FUNCTIONS_LOG=1 prints every line the handlers log, with the time, to see where a change waited. */
const logAll = process.env.BENCH_FUNCTIONS_LOG === "1";
/** An invocation context as the host makes one; the handlers' info lines are dropped (unless logAll), warnings and errors kept. */
const context = (functionName: string) =>
  new InvocationContext({
    functionName,
    invocationId: `bench-${functionName}-${++invocations}`,
    logHandler: (level, ...args) => {
      if (logAll || level === "warning" || level === "error" || level === "critical")
        console.error(`${new Date().toISOString()} functions-host ${functionName} ${level}:`, ...args);
    },
  });
const timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};

const config = getConfig();
if (!config.dispatch)
  throw new Error("SERVICEBUS_NAMESPACE must be set: the topology measured is the one with Service Bus");
const serviceBus = serviceBusEmulator({
  latencyMs: SERVICE_BUS_LATENCY_MS,
  maxConcurrentCalls,
  maxDeliveryCount: MAX_DELIVERY_COUNT,
  deliver: (body) => syncTicket(body, context("sync-ticket")),
  onError: (error, ticket, attempt) => problem(`ticket ${ticket.source}, delivery ${attempt}`, error),
});
// Before the first invocation: the wake-up (getServices) and the timer take this sender.
useTicketSender(serviceBus.sender);
const services = await getReadyServices();

const stop = new AbortController();
const feed: { -readonly [K in keyof FeedStats]: FeedStats[K] } = {
  reads: 0,
  batches: 0,
  changes: 0,
  failedReads: 0,
  failedBatches: 0,
};
/** When each document id was first handed to the capture handler (wall clock): the feed's share of the wait. */
const capturedAt = new Map<string, number>();
const triggerClient = createCosmosClient(config.cosmos);
const loops: Promise<void>[] = [];
for (const source of config.sources) {
  const retry = captureTriggerOptions(config, source).retry;
  const reader = await openChangeFeed(
    triggerClient,
    { database: source.database, container: source.container },
    {
      startFrom: config.capture.startFrom,
      mode: config.capture.mode,
      maxItemCount: config.capture.maxItems,
      continuation: undefined,
    },
  );
  loops.push(
    followChangeFeed(
      reader,
      {
        feedPollDelayMs: config.capture.feedPollDelayMs,
        retryMinMs: retry.minimumInterval.seconds * 1000,
        retryMaxMs: retry.maximumInterval.minutes * 60_000,
        handle: (changes) => {
          const now = Date.now();
          for (const change of changes) {
            const id = (change as { id?: unknown }).id;
            if (typeof id === "string" && !capturedAt.has(id)) capturedAt.set(id, now);
          }
          return captureHandler(source.name)(changes, context(`capture-${source.name}`));
        },
        onError: (error) => problem(`capture ${source.name}`, error),
        signal: stop.signal,
      },
      feed,
    ),
  );
}

const timerPeriodMs = schedulePeriodMs(config.sync.schedule);
const timers = { runs: 0, busyMs: 0, withoutServiceBus: { runs: 0, busyMs: 0 } };
let idleToo = false;
const withoutServiceBus = syncTimerHandler(() => null);
const timed = async (run: () => Promise<void>, into: { runs: number; busyMs: number }, what: string) => {
  const started = performance.now();
  try {
    await run();
  } catch (error) {
    problem(what, error);
  } finally {
    into.runs++;
    into.busyMs += performance.now() - started;
  }
};
loops.push(
  tickEvery(
    timerPeriodMs,
    async () => {
      await timed(() => syncTimer(timer, context("sync-timer")), timers, "sync-timer");
      if (idleToo)
        await timed(
          () => withoutServiceBus(timer, context("sync-timer")),
          timers.withoutServiceBus,
          "sync-timer without Service Bus",
        );
    },
    stop.signal,
  ),
);

send({
  type: "ready",
  topology: {
    feedPollDelayMs: config.capture.feedPollDelayMs,
    captureMode: config.capture.mode,
    serviceBusLatencyMs: SERVICE_BUS_LATENCY_MS,
    maxConcurrentCalls,
    timerSchedule: config.sync.schedule,
    timerPeriodMs,
    wakeDebounceMs: config.dispatch.wakeDebounceMs,
  },
});
for await (const [message] of messages) {
  if (message === "stats") {
    const round = (value: number) => Math.round(value);
    send({
      type: "stats",
      feed: { ...feed },
      tickets: serviceBus.stats(),
      timer: {
        runs: timers.runs,
        busyMs: round(timers.busyMs),
        withoutServiceBus: { runs: timers.withoutServiceBus.runs, busyMs: round(timers.withoutServiceBus.busyMs) },
      },
    });
  } else if (message === "captured") {
    send({ type: "captured", at: [...capturedAt] });
  } else if (message === "idle") {
    idleToo = true;
  } else if (message === "exit") {
    break;
  }
}
stop.abort();
await Promise.all(loops);
// A ticket still draining finishes before the clients close under it (5 s at most).
for (let waited = 0; serviceBus.stats().inFlight > 0 && waited < 5000; waited += 50)
  await new Promise((resolve) => setTimeout(resolve, 50));
await serviceBus.sender.close();
triggerClient.dispose();
await services.close();
process.exit(0);
