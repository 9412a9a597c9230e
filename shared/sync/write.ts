import { ROOT_CONTEXT, SpanKind, type Context } from "@opentelemetry/api";
import type { SinkOp } from "../elastic/types.js";
import type { Claim } from "../queue/types.js";
import { DEPENDENCY_SYSTEMS, inSpan, noopTracer } from "../telemetry/spans.js";
import { chunkByBytes, estimateBytes } from "./chunk.js";
import type { SyncDeps } from "./engine.js";
import { LeaseLostError, leaseGuard } from "./lease-guard.js";
import { recordOutcomes, releaseAfter, type Settlement } from "./settlement.js";

/**
 * Writes `ops` to one target (an alias) in byte-sized bulk requests and records every outcome.
 *
 * Each chunk's keys are guarded (lease-guard.ts): before every bulk request the chunk's leases
 * must cover the request, or are extended; a chunk whose leases were lost is not sent and its keys
 * are released (those another worker holds now stay its own), and the next chunk goes on.
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
export async function writeChunks(
  deps: SyncDeps,
  claim: Claim,
  target: string,
  ops: readonly SinkOp[],
  settlement: Settlement,
  parent: Context = ROOT_CONTEXT,
): Promise<void> {
  const chunks = [...chunkByBytes(ops, deps.options.batchMaxBytes)];
  const tracer = deps.tracer ?? noopTracer;
  for (const [index, chunk] of chunks.entries()) {
    const members = chunk.map((op) => op.member);
    try {
      const attributes = { "db.system.name": DEPENDENCY_SYSTEMS.elasticsearch, "db.operation.name": "bulk", "driftless.bulk.docs": chunk.length };
      const outcomes = await inSpan(tracer, "driftless.elasticsearch.bulk", parent, { kind: SpanKind.CLIENT, attributes }, async (span) => {
        const result = await deps.sink.write(target, chunk, leaseGuard(deps, claim, members));
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
      if (error instanceof LeaseLostError) {
        deps.logger.warn({ source: deps.source.name, keys: members.length, reason: error.message }, "leases lost before a bulk request; releasing the chunk unsent");
        settlement.released.push(...members);
        continue;
      }
      const unwritten = chunks.slice(index).flatMap((rest) => rest.map((op) => op.member));
      releaseAfter(settlement, unwritten, error);
      return;
    }
  }
}
