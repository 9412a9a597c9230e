import { ROOT_CONTEXT, SpanKind, type Context } from "@opentelemetry/api";
import type { SinkOp, Claim } from "./ports.js";
import { DEPENDENCY_SYSTEMS, inSpan, noopTracer } from "../telemetry/spans.js";
import { describeError } from "../core/errors.js";
import { BulkTimeoutPause, PartlyWrittenPause } from "../resilience/errors.js";
import { noteTimeout, planChunks, timeoutRecords } from "./bisect.js";
import { estimateBytes } from "./chunk.js";
import type { SyncDeps } from "./types.js";
import { batchLease, LeaseLostError } from "./lease-guard.js";
import { recordOutcomes, releaseAfter, type Settlement } from "./settlement.js";

/**
 * Writes `ops` to one target (an alias) in byte-sized bulk requests and records every outcome.
 *
 * Keys that timed out in earlier requests are sent apart, in smaller requests (bisect.ts).
 *
 * The batch's leases are kept (lease-guard.ts): before every bulk request the chunk's leases must
 * cover the request, or are extended with the rest of the batch's; a chunk whose leases were lost
 * is not sent and its keys are released (those another worker holds now stay its own), and the
 * next chunk goes on.
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
  const records = timeoutRecords(claim, ops);
  const chunks = planChunks(ops, records, deps.options.batchMaxBytes);
  const tracer = deps.tracer ?? noopTracer;
  const lease = batchLease(deps, claim);
  // Keys whose timeout records are done with: their request was answered, or they are dead letters.
  const settledRecords: string[] = [];
  try {
    for (const [index, chunk] of chunks.entries()) {
      const members = chunk.map((op) => op.member);
      try {
        const attributes = {
          "db.system.name": DEPENDENCY_SYSTEMS.elasticsearch,
          "db.operation.name": "bulk",
          "driftless.bulk.docs": chunk.length,
        };
        const outcomes = await inSpan(
          tracer,
          "driftless.elasticsearch.bulk",
          parent,
          { kind: SpanKind.CLIENT, attributes },
          async (span) => {
            const result = await deps.sink.write(target, chunk, lease.guard(members));
            if (span.isRecording()) {
              span.setAttributes({
                "driftless.bulk.bytes": chunk.reduce((n, op) => n + estimateBytes(op), 0),
                "driftless.bulk.errors": result.reduce((n, outcome) => n + (outcome.outcome === "ok" ? 0 : 1), 0),
              });
            }
            return result;
          },
        );
        recordOutcomes(settlement, outcomes);
        settledRecords.push(...members.filter((member) => records.has(member)));
      } catch (error) {
        if (error instanceof LeaseLostError) {
          deps.logger.warn(
            { source: deps.source.name, keys: members.length, reason: error.message },
            "leases lost before a bulk request; releasing the chunk unsent",
          );
          settlement.released.push(...members);
          continue;
        }
        if (error instanceof PartlyWrittenPause) {
          // The request was answered: the items it judged are settled, the shed ones and the chunks after wait.
          recordOutcomes(settlement, error.judged);
          settledRecords.push(...members.filter((member) => records.has(member)));
          const after = chunks
            .slice(index + 1)
            .flat()
            .map((op) => op.member);
          releaseAfter(settlement, [...error.unwritten, ...after], error);
          return;
        }
        if (error instanceof BulkTimeoutPause) {
          // Its keys are recorded and released (or dead-lettered); the rest waits, as for any pause.
          settledRecords.push(...(await noteTimeout(deps, claim.token, members, error, settlement)));
          releaseAfter(
            settlement,
            chunks
              .slice(index + 1)
              .flat()
              .map((op) => op.member),
            error,
          );
          return;
        }
        const unwritten = chunks
          .slice(index)
          .flat()
          .map((op) => op.member);
        releaseAfter(settlement, unwritten, error);
        return;
      }
    }
  } finally {
    await forgetTimeouts(deps, settledRecords);
  }
}

async function forgetTimeouts(deps: SyncDeps, members: readonly string[]): Promise<void> {
  if (members.length === 0) return;
  try {
    await deps.queue.clearTimeouts(members);
  } catch (error) {
    // A record left behind only splits this key's next request once more.
    deps.logger.warn({ source: deps.source.name, err: describeError(error) }, "could not forget bulk timeout records");
  }
}
