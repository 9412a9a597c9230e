import { runCapture, type CaptureCounters, type CaptureDeps } from "../capture/capture-loop.js";
import { createCaptureStore } from "../capture/capture-store.js";
import { enqueueChanges } from "../capture/changes.js";
import { enqueueDependents, relatedContainers, relationCaptureName } from "../capture/relations.js";
import { waitingStore } from "../capture/waiting-store.js";
import { mergeRangeContinuations, openChangeFeed } from "../cosmos/change-feed.js";
import { relationTargets } from "./relations.js";
import type { Services } from "./services.js";

/**
 * Wiring, so it sits with the composition root: it builds each source's capture store and
 * change-feed reader from the root's clients, and capture (shared/capture) sees only those.
 *
 * One change-feed reader per source (each waits for its source's lease), and one per container
 * that sources' relations name (a "relation-only" capture: it enqueues the dependents of each
 * changed related document), until the signal aborts. Counters are kept by source name, and by
 * relationCaptureName for a related container.
 */
export function startCapture(
  services: Services,
  signal: AbortSignal,
  counters?: Map<string, CaptureCounters>,
): Promise<void>[] {
  const { config } = services;
  const feed = (name: string, location: { database: string; container: string }) => {
    const captureCounters = { pages: 0, changes: 0, enqueued: 0 };
    counters?.set(name, captureCounters);
    const common: Omit<CaptureDeps, "handle"> = {
      name,
      store: waitingStore(
        createCaptureStore(services.clients.redis, config.redis.keyPrefix, name),
        services.clients.redis,
        config.redis.wait,
      ),
      openFeed: (continuation) =>
        openChangeFeed(services.clients.cosmos, location, {
          startFrom: config.capture.startFrom,
          mode: config.capture.mode,
          maxItemCount: config.capture.maxItems,
          continuation,
        }),
      mergePerRange: (continuations) => mergeRangeContinuations(continuations, config.capture.mode),
      clock: services.clock,
      logger: services.logger.child({ source: name, part: "capture" }),
    };
    return { common, captureCounters };
  };
  const options = { leaseMs: config.capture.leaseMs, pollMs: config.capture.pollMs };

  const sources = [...services.sources.values()].map((source) => {
    const { common, captureCounters } = feed(source.config.name, source.config);
    const handle: CaptureDeps["handle"] = (changes, now) => enqueueChanges(source.config, source.queue, changes, now);
    return runCapture({ ...common, handle }, options, signal, captureCounters);
  });
  const related = relatedContainers(config.sources).map((container) => {
    const { common, captureCounters } = feed(relationCaptureName(container), container);
    const targets = relationTargets(services, container);
    const handle: CaptureDeps["handle"] = (changes, now) => enqueueDependents(targets, changes, now);
    return runCapture({ ...common, handle }, options, signal, captureCounters);
  });
  return [...sources, ...related];
}
