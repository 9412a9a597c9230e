/** Small timing helpers shared by the benchmark's measurements. */

/** Runs `work(i)` for i in [0, count) with at most `concurrency` calls in flight. */
export async function pool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/**
 * Runs `lanes` loops of `step` until `seconds` have passed; each step returns how many documents
 * it moved. Returns documents per second over the time the loops really ran.
 */
export async function forDuration(
  seconds: number,
  lanes: number,
  step: (lane: number, round: number) => Promise<number>,
): Promise<Rate> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let docs = 0;
  let round = 0;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (performance.now() < deadline) {
        // Not `docs += await …`: that reads `docs` before the await and loses the other lanes' counts.
        const moved = await step(lane, round++);
        docs += moved;
      }
    }),
  );
  return rateOf(docs, performance.now() - started);
}

export interface Rate {
  readonly docs: number;
  readonly ms: number;
  readonly perSec: number;
}

export const rateOf = (docs: number, ms: number): Rate => ({
  docs,
  ms: Math.round(ms),
  perSec: Math.round((docs / ms) * 1000),
});

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** The value below which `p` percent of the samples fall (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** The middle value (the mean of the two middle ones for an even count); undefined for none. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values
    .filter((value): value is number => value !== undefined && !Number.isNaN(value))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rounds to `digits` decimals for the results file. */
export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
