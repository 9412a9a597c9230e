import type { Claim, SinkOp, TimeoutRecord } from "./ports.js";
import type { BulkTimeoutPause } from "../resilience/errors.js";
import { describeError } from "../core/errors.js";
import { chunkByBytes } from "./chunk.js";
import type { SyncDeps } from "./types.js";
import type { Settlement } from "./settlement.js";

/**
 * A bulk request that times out looks like an outage: its keys are released without an attempt.
 * A document that Elasticsearch cannot take within the timeout (a mapping or an ingest pipeline
 * that takes seconds for it) would make every request it rides in time out, forever, and take the
 * other keys of its batch with it. So a timeout is recorded against the request's keys in Redis
 * (recordTimeouts-3.lua), and the requests that carry them are split:
 *
 * 1. keys that never timed out go first, in requests as usual; keys that did go after them,
 *    apart, grouped by their record's cap, the smallest caps last;
 * 2. the first timeout keeps a key's request size (one timeout may be a blip); each further one
 *    halves it, down to the key alone;
 * 3. a key that times out alone SOLO_TIMEOUTS times is dead-lettered: "bulk request timed out N
 *    times with this document alone". A solo timeout counts only when the source synced other
 *    keys since the last one (recordTimeouts-3.lua), so a slow Elasticsearch that answers nothing
 *    dead-letters nothing; its circuit opens instead.
 *
 * A timeout ends the batch like any pause (its later requests are released), so a batch holds at
 * most one timed-out request; the split keys are written in the batches that follow, those most
 * likely to time out last. A record is forgotten once a request with its key is answered, or the
 * key is dead-lettered.
 */
export const SOLO_TIMEOUTS = 2;

export function planChunks(
  ops: readonly SinkOp[],
  records: ReadonlyMap<string, TimeoutRecord>,
  maxBytes: number,
): SinkOp[][] {
  const fresh: SinkOp[] = [];
  const byCap = new Map<number, SinkOp[]>();
  for (const op of ops) {
    const record = records.get(op.member);
    if (!record) fresh.push(op);
    else byCap.set(record.cap, [...(byCap.get(record.cap) ?? []), op]);
  }
  const planned = [...chunkByBytes(fresh, maxBytes)];
  // The largest caps first: the keys most likely to time out again go last.
  for (const cap of [...byCap.keys()].sort((a, b) => b - a)) {
    for (const chunk of chunkByBytes(byCap.get(cap)!, maxBytes)) {
      for (let start = 0; start < chunk.length; start += Math.max(1, cap))
        planned.push(chunk.slice(start, start + Math.max(1, cap)));
    }
  }
  return planned;
}

/** The timeout records of the ops' keys, read with the claim (claim-10.lua). */
export function timeoutRecords(claim: Claim, ops: readonly SinkOp[]): Map<string, TimeoutRecord> {
  const found = new Map<string, TimeoutRecord>();
  if (ops.length === 0) return found;
  // Almost every key has none: only the claim's few records are looked at.
  const byMember = new Map<string, TimeoutRecord>();
  for (const item of claim.items) if (item.timeout) byMember.set(item.member, item.timeout);
  if (byMember.size === 0) return found;
  for (const op of ops) {
    const record = byMember.get(op.member);
    if (record) found.set(op.member, record);
  }
  return found;
}

/**
 * Records a timed-out request against its keys: each is released without an attempt, except one
 * that has now timed out alone SOLO_TIMEOUTS times, which is dead-lettered. Returns the
 * dead-lettered members.
 */
export async function noteTimeout(
  deps: SyncDeps,
  token: string,
  members: readonly string[],
  pause: BulkTimeoutPause,
  settlement: Settlement,
): Promise<string[]> {
  let solos: readonly number[];
  try {
    solos = await deps.queue.recordTimeouts(token, members, members.length, deps.clock.now());
  } catch (error) {
    deps.logger.warn({ source: deps.source.name, err: describeError(error) }, "could not record a bulk timeout");
    solos = [];
  }
  const dead: string[] = [];
  members.forEach((member, i) => {
    const solo = solos[i] ?? 0;
    if (solo < SOLO_TIMEOUTS) {
      settlement.released.push(member);
      return;
    }
    dead.push(member);
    settlement.dead.push({
      member,
      reason: `bulk request timed out ${solo} times with this document alone`,
      error: pause.message,
    });
  });
  if (dead.length > 0)
    deps.logger.warn(
      { source: deps.source.name, keys: dead.length },
      "documents that time out every bulk request alone were dead-lettered",
    );
  return dead;
}
