import { ROOT_CONTEXT, SpanKind, type Context } from "@opentelemetry/api";
import type { SinkOp } from "../elastic/types.js";
import type { Claim } from "../queue/types.js";
import { DEPENDENCY_SYSTEMS, inSpan, noopTracer } from "../telemetry/spans.js";
import { chunkByBytes, estimateBytes } from "./chunk.js";
import type { SyncDeps } from "./engine.js";
import { recordOutcomes, releaseAfter, type Settlement } from "./settlement.js";

/**
 * Writes `ops` to one target (an alias) in byte-sized bulk requests and records every outcome.
 *
 * The sink throws when the request as a whole cannot be written: Elasticsearch is down, throttling
 * or its circuit is open (a DependencyPause from the resilience guard), or it refused the request
 * for a reason no document can fix (missing alias, failed authentication). Spending attempts on
 * either would dead-letter every key for a problem outside the documents, so the keys not written
 * yet are released instead; the pause makes the drain wait, a refusal is raised once the keys are
 * safe.
 *
 * Each request is a `driftless.elasticsearch.bulk` span under `parent`: documents, estimated body
 * bytes (chunk.ts's estimate) and items refused.
 */
export async function writeChunks(deps: SyncDeps, target: string, ops: readonly SinkOp[], settlement: Settlement, parent: Context = ROOT_CONTEXT): Promise<void> {
  const chunks = [...chunkByBytes(ops, deps.options.batchMaxBytes)];
  const tracer = deps.tracer ?? noopTracer;
  for (const [index, chunk] of chunks.entries()) {
    try {
      const attributes = { "db.system.name": DEPENDENCY_SYSTEMS.elasticsearch, "db.operation.name": "bulk", "driftless.bulk.docs": chunk.length };
      const outcomes = await inSpan(tracer, "driftless.elasticsearch.bulk", parent, { kind: SpanKind.CLIENT, attributes }, async (span) => {
        const result = await deps.sink.write(target, chunk);
        if (span.isRecording()) {
          span.setAttributes({
            "driftless.bulk.bytes": chunk.reduce((n, op) => n + estimateBytes(op), 0),
            "driftless.bulk.errors": result.reduce((n, outcome) => n + (outcome.outcome === "ok" ? 0 : 1), 0),
          });
        }
        return result;
      });
      recordOutcomes(settlement, outcomes);
    } catch (error) {
      const unwritten = chunks.slice(index).flatMap((rest) => rest.map((op) => op.member));
      releaseAfter(settlement, unwritten, error);
      return;
    }
  }
}

/**
 * A write must finish while this holder still owns the keys, or a second worker could claim
 * them and two writers would race. When the read left too little lease for a full write
 * timeout, the leases are extended first. If some had expired already (which ones is not reported
 * per key), the whole write is dropped and its keys released: the still-held ones come back
 * through the queue, the expired ones belong to their new holder.
 */
export async function keepLeaseForWrite(deps: SyncDeps, claim: Claim, ops: SinkOp[], settlement: Settlement): Promise<SinkOp[]> {
  const { clock, options } = deps;
  const needed = options.writeTimeoutMs + 1000;
  if (ops.length === 0 || claim.leaseDeadline - clock.now() > needed) return ops;
  const members = ops.map((op) => op.member);
  const result = await deps.queue.extend(claim.token, members, Math.max(options.leaseMs, needed * 2), clock.now());
  if (result.stale === 0) return ops;
  deps.logger.warn({ source: deps.source.name, stale: result.stale }, "leases expired before the write; releasing those keys");
  settlement.released.push(...members);
  return [];
}
