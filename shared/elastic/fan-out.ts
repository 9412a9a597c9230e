import { IndexMissingError } from "./errors.js";
import type { ItemOutcome, Sink, SinkOp, WriteGuard } from "../sync/ports.js";

/**
 * While a rebuild runs, live writes must reach the new index version too, or a document changed
 * after the scan read it would be stale in the new index once the alias swaps to it. The rebuild
 * publishes the alias of its new index here; the sync writes every chunk to it as well.
 */
export interface WriteTargets {
  /**
   * The aliases, besides the source's own, that live writes must also go to now (at most one:
   * a running rebuild's). Read from Redis on every call, after the batch's claim: that order is
   * what makes a rebuild safe without waiting for processes to notice it. The scan reads a
   * document only after the target was published; a change made after that read is enqueued
   * after it, so the claim that picks the key up, and the read here that follows the claim, come
   * after the publish in Redis's order and see the target. (One GET per bulk request; a cache
   * would break that order and need a settle wait per rebuild.) Throws a DependencyError when
   * Redis cannot say: writing to the alias alone might leave the new index stale.
   */
  extraTargets(source: string): Promise<readonly string[]>;
  publish(source: string, alias: string): Promise<void>;
  withdraw(source: string, alias: string): Promise<void>;
}

/**
 * A Sink whose writes for one source also go to the source's extra write targets (a running
 * rebuild's new index), so the sync engine keeps a rebuild's index current without knowing about
 * rebuilds. The outcome of each op is the worse of its outcomes (dead > retry > ok): a key is
 * acknowledged only once every target has it. Every failure but one is the caller's, as with a
 * plain sink: a target that vanished between the lookup and the write is skipped.
 *
 * The extra targets are written first, the source's alias last. The end of a rebuild swaps the
 * alias to the new index and removes the rebuild alias in one request, then withdraws the
 * target. Written the other way round, a batch could write the old index just before the swap
 * and find the target gone just after it: the new index, live from then on, would miss the
 * change (jobs-rebuild.test.ts has that race). In this order, a vanished target means the swap
 * (or a cancel, which leaves the old index live) came before, so the write to the alias that
 * follows reaches the live index.
 */
export function withExtraTargets(sink: Sink, targets: WriteTargets, source: string): Sink {
  return {
    async write(alias: string, ops: readonly SinkOp[], guard?: WriteGuard): Promise<ItemOutcome[]> {
      const extras = (await targets.extraTargets(source)).filter((target) => target !== alias);
      const written: ItemOutcome[][] = [];
      for (const target of extras) {
        try {
          written.push(await sink.write(target, ops, guard));
        } catch (error) {
          if (error instanceof IndexMissingError) continue;
          throw error;
        }
      }
      return written.reduce(mergeOutcomes, await sink.write(alias, ops, guard));
    },
  };
}

const RANK = { ok: 0, retry: 1, dead: 2 } as const;

/** Per op (same order), the worse of two outcomes. */
export function mergeOutcomes(first: readonly ItemOutcome[], second: readonly ItemOutcome[]): ItemOutcome[] {
  return first.map((outcome, i) => {
    const other = second[i];
    if (!other || RANK[other.outcome] <= RANK[outcome.outcome]) return outcome;
    return other;
  });
}
