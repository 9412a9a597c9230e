import type { Container } from "@azure/cosmos";
import type { DocKey } from "../../../shared/core/keys.js";

export interface ChangeCounts {
  /** Cosmos writes (creates, updates, deletes) whose key was then enqueued. */
  changes: number;
  deletes: number;
  /** Enqueue calls that failed and were tried again (the queue's Redis was away). */
  enqueueRetries: number;
}

export interface ChangeStream {
  readonly counts: ChangeCounts;
  /** Stops producing and waits for the changes under way to be written and enqueued. */
  stop(): Promise<ChangeCounts>;
}

export interface StreamOptions {
  readonly container: Container;
  readonly keys: readonly DocKey[];
  /** Sends changed keys to the queue (as the HTTP producer or the change feed does). */
  readonly enqueue: (keys: DocKey[]) => Promise<unknown>;
  /** Parallel writers. @defaultValue 4 */
  readonly writers?: number;
  /** Share of changes that delete the document. @defaultValue 0.1 */
  readonly deleteShare?: number;
  /** Pause between one writer's changes. @defaultValue 20 */
  readonly pauseMs?: number;
}

/**
 * A stream of random changes to a fixed set of documents: each change is written to Cosmos, then
 * its key enqueued; an enqueue that fails (Redis restarting) is tried again until it succeeds,
 * as a producer that got a 503 would. Titles carry a counter, so every version differs.
 */
export function streamChanges({
  container,
  keys,
  enqueue,
  writers = 4,
  deleteShare = 0.1,
  pauseMs = 20,
}: StreamOptions): ChangeStream {
  const counts: ChangeCounts = { changes: 0, deletes: 0, enqueueRetries: 0 };
  let running = true;
  let version = 0;
  const writer = async () => {
    while (running) {
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      const n = ++version;
      if (Math.random() < deleteShare) {
        const gone = await container
          .item(key.id, key.pk as string)
          .delete()
          .then(
            () => true,
            (error: { code?: number }) => {
              if (error.code === 404) return false;
              throw error;
            },
          );
        if (gone) counts.deletes++;
      } else {
        await container.items.upsert({ id: key.id, tenant: key.pk, title: `v${n}`, n });
      }
      for (;;) {
        try {
          await enqueue([key]);
          break;
        } catch {
          counts.enqueueRetries++;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      counts.changes++;
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const all = Promise.all(Array.from({ length: writers }, writer));
  return {
    counts,
    async stop() {
      running = false;
      await all;
      return counts;
    },
  };
}
