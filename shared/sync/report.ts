import type { DependencyPause } from "../resilience/errors.js";

export interface BatchReport {
  claimed: number;
  indexed: number;
  deleted: number;
  retried: number;
  deadLettered: number;
  /** Keys whose lease had passed to another holder by the time this batch settled them. */
  stale: number;
  /** Keys given back to the queue without spending an attempt: a dependency could not take them. */
  released: number;
  /** Keys read again shortly because Cosmos served an older version than capture saw (a lagging replica). */
  deferred: number;
  /** A dependency asked the sync to wait this long before claiming again (open circuit, 429, outage). */
  pause?: DependencyPause;
}

export const emptyReport = (): BatchReport => ({
  claimed: 0,
  indexed: 0,
  deleted: 0,
  retried: 0,
  deadLettered: 0,
  stale: 0,
  released: 0,
  deferred: 0,
});
