import { runCapture, type CaptureCounters } from "../capture/capture-loop.js";
import { createCaptureStore } from "../capture/capture-store.js";
import { waitingStore } from "../capture/waiting-store.js";
import { mergeRangeContinuations, openChangeFeed } from "../cosmos/change-feed.js";
import type { Services } from "./services.js";

/**
 * Wiring, so it sits with the composition root: it builds each source's capture store and
 * change-feed reader from the root's clients, and capture (shared/capture) sees only those.
 *
 * One change-feed reader per source (each waits for its source's lease), until the signal aborts.
 */
export function startCapture(
  services: Services,
  signal: AbortSignal,
  counters?: Map<string, CaptureCounters>,
): Promise<void>[] {
  const { config } = services;
  return [...services.sources.values()].map((source) => {
    const sourceCounters = { pages: 0, changes: 0, enqueued: 0 };
    counters?.set(source.config.name, sourceCounters);
    return runCapture(
      {
        source: source.config,
        queue: source.queue,
        store: waitingStore(
          createCaptureStore(services.clients.redis, config.redis.keyPrefix, source.config.name),
          services.clients.redis,
          config.redis.wait,
        ),
        openFeed: (continuation) =>
          openChangeFeed(services.clients.cosmos, source.config, {
            startFrom: config.capture.startFrom,
            mode: config.capture.mode,
            maxItemCount: config.capture.maxItems,
            continuation,
          }),
        mergePerRange: (continuations) => mergeRangeContinuations(continuations, config.capture.mode),
        clock: services.clock,
        logger: services.logger.child({ source: source.config.name, part: "capture" }),
      },
      { leaseMs: config.capture.leaseMs, pollMs: config.capture.pollMs },
      signal,
      sourceCounters,
    );
  });
}
