import { ROOT_CONTEXT, SpanKind, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { describeError } from "../core/errors.js";
import { invalidKeyReason } from "../core/keys.js";
import { isPause, PartlyServedPause } from "../resilience/errors.js";
import { DEPENDENCY_SYSTEMS, failSpan, inSpan, noopTracer } from "../telemetry/spans.js";
import { deleteVersion, isStaleRead } from "./freshness.js";
import { mapperFor, TransformError } from "./mapper.js";
import { loadRelated, NO_RELATED, type RelatedDocuments } from "./relations.js";
import type { Claim, Failure, ReadResult, SinkOp } from "./ports.js";
import { emptySettlement, releaseAfter, retryAfter, type Settlement } from "./settlement.js";
import { emptyReport, type BatchReport } from "./report.js";
import { settle } from "./settle.js";
import type { SyncDeps } from "./types.js";
import { writeChunks } from "./write.js";
import { detachedDocument } from "../elastic/serialize.js";

/**
 * One batch: claim → read the current documents from Cosmos → map → bulk write → settle every
 * key (ack, retry, dead letter, or release). Keys are never dropped: a key that is not settled
 * here (the process dies, Redis is gone) stays in flight until its lease expires and the reaper
 * returns it.
 *
 * While a dependency's circuit is open nothing is claimed and the report carries the pause.
 *
 * A batch that claimed keys (or failed to claim) is one `driftless.sync.batch` span, a child of
 * `parent` (a timer invocation) or the root of its own trace, with a child per step.
 */
export async function syncBatch(deps: SyncDeps, parent: Context = ROOT_CONTEXT): Promise<BatchReport> {
  const blocked = deps.gate?.blocked();
  if (blocked) return { ...emptyReport(), pause: blocked };

  const startedAt = deps.clock.now();
  // The spans start here but are opened only once the claim has answered: a poll of an empty
  // queue (several a second while idle) is no work, and leaves no trace.
  const claimedFrom = performance.now();
  let claim: Claim;
  try {
    claim = await deps.queue.claim({
      max: deps.options.batchSize,
      leaseMs: deps.options.leaseMs,
      now: deps.clock.now(),
      bulkShare: deps.options.bulkShare,
    });
  } catch (error) {
    const span = startBatchSpan(deps, parent, claimedFrom);
    endClaimSpan(deps, trace.setSpan(parent, span), claimedFrom, undefined, error);
    failSpan(span, error);
    span.end(performance.now());
    throw error;
  }
  if (claim.items.length === 0) {
    await deps.gate?.idle?.();
    return emptyReport();
  }

  const span = startBatchSpan(deps, parent, claimedFrom);
  const batchContext = trace.setSpan(parent, span);
  endClaimSpan(deps, batchContext, claimedFrom, claim.items.length);
  try {
    const settlement = emptySettlement();
    const writable = await readAndMap(deps, claim, settlement, batchContext);
    // The one write target: the source's alias (during a rebuild the sink writes the new index
    // version too; shared/elastic/fan-out.ts).
    await writeChunks(deps, claim, deps.source.index, writable, settlement, batchContext);

    const report = await inSpan(
      tracerOf(deps),
      "driftless.queue.settle",
      batchContext,
      { kind: SpanKind.CLIENT, attributes: { "db.system.name": DEPENDENCY_SYSTEMS.redis } },
      () => settle(deps, claim, settlement, writable),
    );
    span.setAttributes({
      "driftless.keys.claimed": report.claimed,
      "driftless.keys.indexed": report.indexed,
      "driftless.keys.deleted": report.deleted,
      "driftless.keys.retried": report.retried,
      "driftless.keys.dead_lettered": report.deadLettered,
      "driftless.keys.released": report.released,
      "driftless.keys.deferred": report.deferred,
      ...(report.pause ? { "driftless.pause.dependency": report.pause.dependency } : {}),
    });
    deps.onBatch?.({ report, written: writable, acked: settlement.acked, startedAt, settledAt: deps.clock.now() });
    // Settled first, then raised: the drain loop logs it and backs off instead of spinning.
    if (settlement.refusal !== undefined) throw settlement.refusal;
    return report;
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end(performance.now());
  }
}

const tracerOf = (deps: SyncDeps): Tracer => deps.tracer ?? noopTracer;

/** Started back at the claim (a performance.now() time, which the SDK maps onto the wall clock). */
function startBatchSpan(deps: SyncDeps, parent: Context, at: number): Span {
  return tracerOf(deps).startSpan(
    "driftless.sync.batch",
    { startTime: at, attributes: { "driftless.source": deps.source.name } },
    parent,
  );
}

/** The claim's span, opened and closed after the fact (see syncBatch); `keys` undefined when the claim failed. */
function endClaimSpan(
  deps: SyncDeps,
  batchContext: Context,
  from: number,
  keys: number | undefined,
  error?: unknown,
): void {
  const span = tracerOf(deps).startSpan(
    "driftless.queue.claim",
    {
      kind: SpanKind.CLIENT,
      startTime: from,
      attributes: {
        "db.system.name": DEPENDENCY_SYSTEMS.redis,
        ...(keys !== undefined ? { "driftless.keys": keys } : {}),
      },
    },
    batchContext,
  );
  if (error !== undefined) failSpan(span, error);
  span.end(performance.now());
}

/**
 * What the sync makes of one key's read: its write, a dead letter (the mapping threw), or a read
 * again later (the read was stale); `caughtUp`, the version record the read caught up with.
 */
type Judged =
  | ({ readonly caughtUp?: string } & ({ readonly op: SinkOp } | { readonly dead: Failure }))
  | { readonly deferred: true };

/** A document read, judged as soon as it arrives; for a source with relations, once the batch's related documents are read. */
type Prepared = Judged | { readonly awaiting: Record<string, unknown> };

const DEFERRED: Judged = { deferred: true };

/**
 * Reads the claimed keys from Cosmos and maps each document to the write the index needs. Per-key
 * read errors spend an attempt; a mapping that throws dead-letters its key (it would throw again).
 * When Cosmos cannot serve the batch at all, every key is released; when it served part of it,
 * only the rest is, and the part it served is written (see guardReader).
 *
 * Each document is mapped and reduced to its JSON text as its read's response comes in
 * (SourceReader.read's `prepare` says why), except in a source with relations, whose mapping
 * needs the related documents of the whole batch.
 */
async function readAndMap(
  deps: SyncDeps,
  claim: Claim,
  settlement: Settlement,
  batchContext: Context,
): Promise<SinkOp[]> {
  const items = claim.items.filter((item) => {
    // A key capture dead-lettered for its partition key (core/keys.ts), redriven: no read can find it.
    const invalid = invalidKeyReason(item.key.pk);
    if (invalid !== undefined)
      settlement.dead.push({
        member: item.member,
        reason: invalid,
        error: `the key cannot be read from Cosmos: ${invalid}`,
      });
    return invalid === undefined;
  });
  if (items.length === 0) return [];
  const members = items.map((item) => item.member);
  const readAtSeconds = Math.floor(deps.clock.now() / 1000);
  const mapper = mapperFor(deps.source);
  // The version records came with the claim, before the read: a record written after it is a
  // newer change, which re-enqueues the key.
  const byMember = new Map(items.map((item) => [item.member, item]));
  const judge = (member: string, document: Record<string, unknown> | null, related: RelatedDocuments): Judged => {
    const item = byMember.get(member)!;
    const record = item.recorded;
    if (isStaleRead(record, document, deps.clock.now(), deps.options.staleReadGraceMs)) return DEFERRED;
    const caughtUp = record?.raw;
    try {
      const mapped = mapper(item.key, document, deleteVersion(record, readAtSeconds), related);
      // Reduced to its JSON text at once: the batch holds its ops until it settles, and the
      // document objects would stay alive through every bulk request (serialize.ts says what that costs).
      return { caughtUp, op: detachedDocument({ ...mapped, member }) };
    } catch (error) {
      // The source's transform threw (or returned no document): its message is the dead letter's
      // error, so the owner sees which document broke the transform and why.
      return {
        caughtUp,
        dead:
          error instanceof TransformError
            ? { member, error: error.message, reason: "transform failed" }
            : { member, error: `mapping failed: ${describeError(error)}`, reason: "mapping failed" },
      };
    }
  };
  const prepare = deps.source.relations?.length
    ? (document: Record<string, unknown>): Prepared => ({ awaiting: document })
    : (document: Record<string, unknown>, member: string): Prepared => judge(member, document, NO_RELATED);

  let results: readonly ReadResult<Prepared>[];
  try {
    const attributes = { "db.system.name": DEPENDENCY_SYSTEMS.cosmos, "driftless.keys": items.length };
    results = await inSpan(
      tracerOf(deps),
      "driftless.cosmos.read",
      batchContext,
      { kind: SpanKind.CLIENT, attributes },
      async (span) => {
        const read = await deps.reader.read(items, prepare);
        if (span.isRecording())
          span.setAttribute(
            "driftless.errors",
            read.reduce((n, result) => n + ("error" in result ? 1 : 0), 0),
          );
        return read;
      },
    );
  } catch (error) {
    if (error instanceof PartlyServedPause) {
      // The reads Cosmos answered go on; the rest are released, and the drain pauses after the batch.
      releaseAfter(settlement, error.unserved, error);
      // Prepared by this batch's `prepare`: the pause carries the results of the read it was given to.
      results = error.served as readonly ReadResult<Prepared>[];
    } else {
      if (isPause(error)) releaseAfter(settlement, members, error);
      else retryAfter(settlement, members, error);
      return [];
    }
  }

  let related: RelatedDocuments;
  try {
    related = await readRelated(deps, results, batchContext);
  } catch (error) {
    if (isPause(error)) releaseAfter(settlement, members, error);
    else retryAfter(settlement, members, error);
    return [];
  }

  const ops: SinkOp[] = [];
  for (const result of results) {
    if ("error" in result) {
      settlement.retries.push({ member: result.member, error: result.error });
      continue;
    }
    const prepared = result.found ? result.document : judge(result.member, null, related);
    const judged = "awaiting" in prepared ? judge(result.member, prepared.awaiting, related) : prepared;
    if ("deferred" in judged) {
      settlement.deferred.push(result.member);
      continue;
    }
    if (judged.caughtUp !== undefined) settlement.caughtUp.push({ member: result.member, raw: judged.caughtUp });
    if ("op" in judged) ops.push(judged.op);
    else settlement.dead.push(judged.dead);
  }
  return ops;
}

/**
 * The related documents the batch's documents point at (the source's relations), one read per
 * relation for the whole batch; none for a source without relations.
 */
async function readRelated(deps: SyncDeps, results: readonly ReadResult<Prepared>[], batchContext: Context) {
  if (!deps.source.relations?.length) return NO_RELATED;
  if (!deps.related) throw new Error(`source ${deps.source.name} has relations but no related reader was wired`);
  const reader = deps.related;
  const documents = results.flatMap((result) =>
    "found" in result && result.found && "awaiting" in result.document ? [result.document.awaiting] : [],
  );
  const attributes = {
    "db.system.name": DEPENDENCY_SYSTEMS.cosmos,
    "driftless.relations": deps.source.relations.length,
  };
  return inSpan(
    tracerOf(deps),
    "driftless.cosmos.read_related",
    batchContext,
    { kind: SpanKind.CLIENT, attributes },
    () => loadRelated(deps.source, documents, reader),
  );
}
