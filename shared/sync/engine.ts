import type { SourceConfig } from "../config/source.js";
import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { SourceReader } from "../cosmos/reader.js";
import type { ItemOutcome, Sink, SinkOp } from "../elastic/types.js";
import type { Claim, Failure, SourceQueue } from "../queue/types.js";
import type { Logger } from "../telemetry/logger.js";
import { createMapper, type DocumentMapper } from "./mapper.js";
import { chunkByBytes } from "./chunk.js";

export interface SyncOptions {
  /** Keys claimed per batch. @defaultValue 500 */
  readonly batchSize: number;
  /** Upper bound of one bulk request body; larger batches are split. @defaultValue 5000000 */
  readonly batchMaxBytes: number;
  readonly leaseMs: number;
  readonly bulkShare: number;
  /** The longest one bulk request may take (the Elasticsearch request timeout). */
  readonly writeTimeoutMs: number;
}

/** Everything one source's sync needs, injected so the engine never sees an SDK. */
export interface SyncDeps {
  readonly source: SourceConfig;
  readonly queue: SourceQueue;
  readonly reader: SourceReader;
  readonly sink: Sink;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: SyncOptions;
}

export interface BatchReport {
  claimed: number;
  indexed: number;
  deleted: number;
  retried: number;
  deadLettered: number;
  /** Keys whose lease had passed to another holder by the time this batch settled them. */
  stale: number;
}

export const emptyReport = (): BatchReport => ({ claimed: 0, indexed: 0, deleted: 0, retried: 0, deadLettered: 0, stale: 0 });

const mappers = new WeakMap<SourceConfig, DocumentMapper>();

/**
 * One batch: claim → read current documents → map → one bulk write per byte-sized chunk →
 * settle every key (ack, retry, or dead letter). Keys are never dropped: a key that is not
 * acknowledged here stays in flight until its lease expires and the reaper returns it.
 */
export async function syncBatch(deps: SyncDeps): Promise<BatchReport> {
  const { queue, clock, options } = deps;
  const report = emptyReport();
  const claim = await queue.claim({
    max: options.batchSize,
    leaseMs: options.leaseMs,
    now: clock.now(),
    bulkShare: options.bulkShare,
  });
  report.claimed = claim.items.length;
  if (claim.items.length === 0) return report;

  const readAtSeconds = Math.floor(clock.now() / 1000);
  const results = await deps.reader.read(claim.items);
  const mapper = mapperFor(deps.source);
  const ops: SinkOp[] = [];
  const retries: Failure[] = [];
  const dead: Failure[] = [];
  const byMember = new Map(claim.items.map((item) => [item.member, item]));

  for (const result of results) {
    if ("error" in result) {
      retries.push({ member: result.member, error: result.error });
      continue;
    }
    try {
      const { key } = byMember.get(result.member)!;
      const mapped = mapper(key, result.found ? result.document : null, readAtSeconds);
      ops.push({ ...mapped, member: result.member });
    } catch (error) {
      dead.push({ member: result.member, error: `mapping failed: ${describeError(error)}` });
    }
  }

  const writable = await keepLeaseForWrite(deps, claim, ops);
  const { outcomes, unwritten, refusal } = await writeChunks(deps, writable);
  const acked: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.outcome === "ok") acked.push(outcome.member);
    else if (outcome.outcome === "retry") retries.push({ member: outcome.member, error: outcome.error });
    else dead.push({ member: outcome.member, error: outcome.error });
  }

  const now = clock.now();
  const [ackResult, retryResult, deadResult] = await Promise.all([
    acked.length ? queue.ack(claim.token, acked, now) : undefined,
    retries.length ? queue.retry(claim.token, retries, now) : undefined,
    dead.length ? queue.deadLetter(claim.token, dead, now) : undefined,
    unwritten.length ? queue.release(claim.token, unwritten, now) : undefined,
  ]);
  const okMembers = new Set(acked);
  for (const op of writable) {
    if (!okMembers.has(op.member)) continue;
    if (op.action === "index") report.indexed++;
    else report.deleted++;
  }
  report.retried = (retryResult?.settled ?? 0) - (retryResult?.deadLettered ?? 0);
  report.deadLettered = (deadResult?.settled ?? 0) + (retryResult?.deadLettered ?? 0);
  report.stale = (ackResult?.stale ?? 0) + (retryResult?.stale ?? 0) + (deadResult?.stale ?? 0);
  if (acked.length) await queue.markSynced(now);
  if (dead.length || report.stale) {
    deps.logger.warn(
      { source: deps.source.name, deadLettered: report.deadLettered, stale: report.stale, firstError: dead[0]?.error },
      "batch settled with dead letters or stale leases",
    );
  }
  // Settled first, then raised: the drain loop logs it and backs off instead of spinning.
  if (refusal) throw refusal;
  return report;
}

/**
 * A write must finish while this holder still owns the keys, or a second worker could claim
 * them and two writers would race. When the read left too little lease for a full write
 * timeout, the leases are extended first, and keys this holder no longer owns are dropped here
 * (their new holder writes them).
 */
async function keepLeaseForWrite(deps: SyncDeps, claim: Claim, ops: SinkOp[]): Promise<SinkOp[]> {
  const { clock, options } = deps;
  const needed = options.writeTimeoutMs + 1000;
  if (ops.length === 0 || claim.leaseDeadline - clock.now() > needed) return ops;
  const members = ops.map((op) => op.member);
  const result = await deps.queue.extend(claim.token, members, Math.max(options.leaseMs, needed * 2), clock.now());
  if (result.stale === 0) return ops;
  deps.logger.warn({ source: deps.source.name, stale: result.stale }, "leases expired before the write; skipping those keys");
  // Which members are stale is not reported per key; drop the whole write and let the
  // keys come back through the normal paths (the still-held ones via release).
  await deps.queue.release(claim.token, members, clock.now());
  return [];
}

/**
 * The sink throws only when Elasticsearch refuses the request as a whole for a reason no document
 * can fix (missing alias, failed authentication). Spending attempts on that would dead-letter
 * every key for a configuration problem, so the unwritten keys are released instead and the
 * refusal is raised once they are safe.
 */
async function writeChunks(
  deps: SyncDeps,
  ops: readonly SinkOp[],
): Promise<{ outcomes: ItemOutcome[]; unwritten: string[]; refusal?: unknown }> {
  const outcomes: ItemOutcome[] = [];
  const chunks = [...chunkByBytes(ops, deps.options.batchMaxBytes)];
  for (const [index, chunk] of chunks.entries()) {
    try {
      outcomes.push(...(await deps.sink.write(deps.source.index, chunk)));
    } catch (error) {
      const unwritten = chunks.slice(index).flatMap((rest) => rest.map((op) => op.member));
      return { outcomes, unwritten, refusal: error };
    }
  }
  return { outcomes, unwritten: [] };
}

function mapperFor(source: SourceConfig): DocumentMapper {
  let mapper = mappers.get(source);
  if (!mapper) {
    mapper = createMapper(source);
    mappers.set(source, mapper);
  }
  return mapper;
}
