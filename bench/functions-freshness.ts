import { once } from "node:events";
import { spawnTs } from "./child.js";
import { createBenchContainer, type BenchContext } from "./context.js";
import { timeFreshness, type FreshnessResult } from "./freshness.js";
import type { DeliveryStats, FeedStats } from "./functions-emulation.js";
import { percentile, sleep } from "./measure.js";
import { inbox } from "./pipeline.js";

/**
 * The timer schedule of this phase unless SYNC_SCHEDULE is given: shorter than the production
 * default (every 30 s) so that the idle window sees a few ticks. With Service Bus the timer only
 * reaps and dispatches; the wake-up tickets are what makes a change searchable within seconds.
 */
const SCHEDULE = "*/5 * * * * *";
/** The idle window: no writes, the timer ticking, its handlers' time summed. */
const IDLE_MS = 10_000;
/** Between the last document found and the idle window: the last ticket's drain ends. */
const SETTLE_MS = 2000;

interface Stats {
  readonly feed: FeedStats;
  readonly tickets: DeliveryStats;
  readonly timer: {
    readonly runs: number;
    readonly busyMs: number;
    readonly withoutServiceBus: { readonly runs: number; readonly busyMs: number };
  };
}

/**
 * Freshness in the Functions topology (issue 25): the same writes and the same detection as
 * worker mode's phase (freshness.ts timeFreshness), with the real Functions handlers driven as
 * the host drives them (functions-host.ts, in its own process, against the same Redis,
 * Elasticsearch and emulator). Then the idle cost: over IDLE_MS with no writes, how long the
 * timer handler ran, as a share of the window, as deployed (with Service Bus: it reaps and
 * dispatches) and as it runs without Service Bus (a drain pass that ends once nothing is due).
 */
export async function measureFunctionsFreshness(ctx: BenchContext, log: (line: string) => void) {
  const stamp = Date.now().toString(36);
  const containerName = `fnfresh-${stamp}`;
  const alias = `bench-fnfresh-${stamp}`;
  const container = await createBenchContainer(ctx.cosmos, containerName);
  const env = ctx.env([ctx.source("fnfresh", alias, containerName)], {
    CAPTURE_START_FROM: "now",
    // Makes the app the one with Service Bus (the wake-up, the ticket function, the timer's
    // dispatch); functions-host.ts gives it its emulated queue before anything could connect.
    SERVICEBUS_NAMESPACE: "bench-emulated.servicebus.windows.net",
    SYNC_SCHEDULE: process.env.SYNC_SCHEDULE ?? SCHEDULE,
  });
  const child = spawnTs("bench/functions-host.ts", [], env, "functions-host");
  const exited = once(child, "exit");
  const messages = inbox(child, "functions-host");
  const next = async <T>(type: string): Promise<T> => {
    const message = (await messages.next()) as { type?: string };
    if (message?.type !== type) throw new Error(`functions-host sent ${JSON.stringify(message)}, not "${type}"`);
    return message as T;
  };
  const stats = async () => {
    child.send("stats");
    return next<Stats>("stats");
  };
  try {
    const { topology } = await next<{ topology: Record<string, unknown> }>("ready");
    log(
      `  feedPollDelay ${topology.feedPollDelayMs} ms, Service Bus latency ${topology.serviceBusLatencyMs} ms (assumed), maxConcurrentCalls ${topology.maxConcurrentCalls}, timer every ${Number(topology.timerPeriodMs) / 1000} s`,
    );
    const writtenAt = new Map<string, number>();
    const freshness: FreshnessResult = await timeFreshness(ctx, container, alias, log, (id, at) =>
      writtenAt.set(id, at),
    );
    const during = await stats();
    child.send("captured");
    const { at } = await next<{ at: [string, number][] }>("captured");
    // How long the timed writes waited for the change feed (write → capture handler): the rest of
    // their freshness is the ticket, the drain and Elasticsearch's refresh.
    const captureLags = at
      .filter(([id]) => writtenAt.has(id))
      .map(([id, capturedMs]) => capturedMs - writtenAt.get(id)!)
      .sort((a, b) => a - b);
    const captureLagMs =
      captureLags.length > 0
        ? {
            p50: Math.round(percentile(captureLags, 50)),
            p99: Math.round(percentile(captureLags, 99)),
            samples: captureLags.length,
          }
        : null;
    await sleep(SETTLE_MS);
    child.send("idle");
    const before = await stats();
    await sleep(IDLE_MS);
    const after = await stats();
    const idle = {
      windowMs: IDLE_MS,
      timerRuns: after.timer.runs - before.timer.runs,
      timerBusyMs: after.timer.busyMs - before.timer.busyMs,
      ticketInvocations: after.tickets.invocations - before.tickets.invocations,
      feedReads: after.feed.reads - before.feed.reads,
      withoutServiceBus: {
        timerRuns: after.timer.withoutServiceBus.runs - before.timer.withoutServiceBus.runs,
        timerBusyMs: after.timer.withoutServiceBus.busyMs - before.timer.withoutServiceBus.busyMs,
      },
    };
    const share = (ms: number) => Math.round((ms / IDLE_MS) * 1000) / 1000;
    const result = {
      freshness,
      /** The timer handler's time over the idle window ÷ the window, as deployed (with Service Bus). */
      idleTimerBusyShare: share(idle.timerBusyMs),
      /** The same for the timer as it runs without Service Bus: a drain pass that ends once nothing is due. */
      idleTimerBusyShareWithoutServiceBus: share(idle.withoutServiceBus.timerBusyMs),
      /** Write → the capture handler, for the same documents (wall clock, both processes on this host). */
      captureLagMs,
      idle,
      topology,
      /** What ran while the writes were timed: feed reads and batches, tickets sent and delivered, timer runs. */
      during: { feed: during.feed, tickets: during.tickets, timerRuns: during.timer.runs },
    };
    if (captureLagMs)
      log(
        `  of which waiting for the change feed (write → capture handler): p50 ${captureLagMs.p50} ms, p99 ${captureLagMs.p99} ms`,
      );
    log(
      `  ${during.feed.batches} capture batches, ${during.tickets.sent} tickets sent, ${during.tickets.invocations} ticket invocations (at most ${during.tickets.maxInFlight} at once), ${during.timer.runs} timer runs`,
    );
    log(
      `  idle ${IDLE_MS / 1000} s: the timer ran ${idle.timerRuns} times, busy ${idle.timerBusyMs} ms (${result.idleTimerBusyShare} of the window); without Service Bus ${idle.withoutServiceBus.timerRuns} runs, busy ${idle.withoutServiceBus.timerBusyMs} ms (${result.idleTimerBusyShareWithoutServiceBus})`,
    );
    return result;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.send("exit");
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await container.delete().catch(() => undefined);
    await ctx.dropAlias(alias);
  }
}
