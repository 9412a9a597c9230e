import { ExponentialBackoff, halfJitterGenerator, type IBackoff, type IBackoffFactory } from "cockatiel";

/**
 * A jittered exponential delay that grows while failures repeat and starts over after a success:
 * `next()` gives the next wait (between half and all of `initialMs * 2^n`, at most `maxMs`), or
 * the dependency's own hint when that is longer (Cosmos's retry-after).
 */
export interface Backoff {
  next(hintMs?: number): number;
  reset(): void;
}

export function createBackoff({ initialMs, maxMs }: { initialMs: number; maxMs: number }): Backoff {
  const factory = new ExponentialBackoff({ initialDelay: initialMs, maxDelay: maxMs, generator: halfJitterGenerator });
  let current: IBackoff<unknown> | undefined;
  return {
    next(hintMs = 0) {
      current = current ? current.next(undefined) : factory.next();
      return Math.min(Math.max(current.duration, hintMs), Math.max(maxMs, hintMs));
    },
    reset() {
      current = undefined;
    },
  };
}

/** Passes every delay a backoff factory hands out to `seen`, so the circuit knows when it may try again. */
export function observeBackoff<C>(factory: IBackoffFactory<C>, seen: (durationMs: number) => void): IBackoffFactory<C> {
  const wrap = (backoff: IBackoff<C>): IBackoff<C> => {
    seen(backoff.duration);
    return { duration: backoff.duration, next: (context: C) => wrap(backoff.next(context)) };
  };
  return { next: (context: C) => wrap(factory.next(context)) };
}
