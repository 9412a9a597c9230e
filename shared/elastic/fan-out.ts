import { PartlyWrittenPause } from "../resilience/errors.js";
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
 * rebuilds. The outcome of each op is the worse of its outcomes (dead > retry > released > ok): a
 * key is acknowledged only once every target has it, and a key one target shed waits, released
 * (the write then throws a PartlyWrittenPause over every target's outcomes, as the guarded sink
 * does for one). Every failure but one is the caller's, as with a plain sink: a target that
 * vanished between the lookup and the write is skipped.
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
      if (extras.length === 0) return sink.write(alias, ops, guard);
      const written: TargetOutcome[][] = [];
      let pause: PartlyWrittenPause | undefined;
      const writeTo = async (target: string, sent: readonly SinkOp[] = ops): Promise<TargetOutcome[]> => {
        try {
          return await sink.write(target, sent, guard);
        } catch (error) {
          if (!(error instanceof PartlyWrittenPause)) throw error;
          // Items one target shed: released, whatever the other target did with them.
          pause ??= error;
          return inOrder(sent, error.judged);
        }
      };
      for (const target of extras) {
        try {
          written.push(await writeTo(target));
        } catch (error) {
          if (error instanceof IndexMissingError) continue;
          throw error;
        }
      }
      // A key a rebuild's index shed goes to the alias next time, with it: sent now, it would make the
      // alias's request larger for nothing, and under steady shedding the two indexes could keep
      // taking disjoint parts of each request, so that no key ever reached both.
      const shed = new Set(
        written.flat().flatMap((outcome) => (outcome.outcome === "released" ? [outcome.member] : [])),
      );
      const toAlias = shed.size === 0 ? ops : ops.filter((op) => !shed.has(op.member));
      const onAlias = toAlias.length === 0 ? [] : await writeTo(alias, toAlias);
      const merged = written.reduce(mergeOutcomes, inOrder(ops, onAlias));
      if (!pause) return merged as ItemOutcome[];
      const judged = merged.filter((outcome): outcome is ItemOutcome => outcome.outcome !== "released");
      const unwritten = merged.filter((outcome) => outcome.outcome === "released").map((outcome) => outcome.member);
      if (unwritten.length === 0) return judged;
      throw new PartlyWrittenPause(pause, judged, unwritten);
    },
  };
}

/** An op's outcome on one target, `released` when that target shed it (PartlyWrittenPause). */
type TargetOutcome = ItemOutcome | { readonly member: string; readonly outcome: "released" };

/** Every op's outcome, in the ops' order, from the outcomes of those a target judged: the others are released. */
function inOrder(ops: readonly SinkOp[], judged: readonly TargetOutcome[]): TargetOutcome[] {
  if (judged.length === ops.length) return [...judged];
  const byMember = new Map(judged.map((outcome) => [outcome.member, outcome]));
  return ops.map((op) => byMember.get(op.member) ?? { member: op.member, outcome: "released" });
}

/** Worse is higher: a key is acknowledged only once every target has it, and shed on one target it waits. */
const RANK = { ok: 0, released: 1, retry: 2, dead: 3 } as const;

/** Per op (same order), the worse of two outcomes. */
export function mergeOutcomes<T extends TargetOutcome>(first: readonly T[], second: readonly T[]): T[] {
  return first.map((outcome, i) => {
    const other = second[i];
    if (!other || RANK[other.outcome] <= RANK[outcome.outcome]) return outcome;
    return other;
  });
}
