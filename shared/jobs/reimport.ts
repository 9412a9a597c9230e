import { DependencyError } from "../core/errors.js";
import { encodeKey } from "../core/keys.js";
import { gcDeletesMs } from "../elastic/index-manager.js";
import type { ItemOutcome, SinkOp } from "../sync/ports.js";
import type { ChunkContext } from "./context.js";
import { finishRebuild, prepareRebuild } from "./rebuild.js";
import { preparePage, ReadAhead } from "./scan-pages.js";
import { loadRelated } from "../sync/relations.js";

/** Attempts at a bulk request that failed as a whole (Elasticsearch unreachable, 429 on every item) before its keys go to the queue. */
const WHOLE_REQUEST_ATTEMPTS = 3;

/**
 * One step of a reimport: prepare (rebuild: the new index), one page of the scan, or the final
 * swap (rebuild). Returns true once the job has ended.
 */
export async function reimportStep(ctx: ChunkContext): Promise<boolean> {
  const { job } = ctx;
  const rebuild = job.mode === "rebuild";
  if (job.phase === "prepare") {
    // No page may be read before this publishes the new index to the live sync (not even ahead,
    // to overlap the index creation): a change made between that read and the publication would
    // reach only the old index, and the stale copy would go live with the swap.
    if (rebuild) await prepareRebuild(ctx);
    else await ctx.commit({ phase: "scan" });
    return false;
  }
  if (job.phase === "swap") {
    await finishRebuild(ctx);
    return true;
  }
  // Only the last page's commit leaves no continuation after a page. A runner that died between it
  // and the commit of the end below left the scan complete: reading again would start it over.
  const scanned = job.pages > 0 && job.continuation === undefined;
  const more = !scanned && (await scanPage(ctx, rebuild ? job.targetAlias! : ctx.source.config.index));
  if (more) return false;
  if (!rebuild) {
    await ctx.finish("succeeded");
    return true;
  }
  await ctx.commit({ phase: "swap" });
  return false;
}

/**
 * Writes one page of full documents to `target` directly (each document is read once), hands the
 * items that failed to the bulk lane of the queue (where retries and dead letters apply), then
 * commits the counters with the next continuation in one step. A crash before the commit scans
 * the page again; nothing is counted twice.
 */
async function scanPage(ctx: ChunkContext, target: string): Promise<boolean> {
  const { deps, source } = ctx;
  const config = source.config;
  const scanner = deps.scanner(config);
  const read = (continuation: string | undefined) => async () => {
    const readAt = deps.clock.now();
    const page = await scanner.readPage(continuation, deps.options.pageSize);
    // The page's related documents, one read per relation, as the sync reads them per batch.
    const related = await loadRelated(config, page.documents, deps.related(config));
    return preparePage(config, page, readAt, deps.options, related);
  };
  let page = await readAhead.take(ctx.job.id, ctx.job.continuation, read(ctx.job.continuation));
  // A page read long ago (read ahead before a pause between chunks, or before an outage) may hold
  // documents deleted since; written after Elasticsearch forgot those deletes, they would come back.
  const maxAgeMs = gcDeletesMs(config.settings) / 2;
  if (ctx.now - page.readAt > maxAgeMs) {
    ctx.logger.info(
      { source: config.name, ageMs: ctx.now - page.readAt, maxAgeMs },
      "reimport page read too long ago; reading it again",
    );
    page = await read(ctx.job.continuation)();
  }
  // The next page is read from Cosmos, mapped and serialized while this one is written to
  // Elasticsearch, which would otherwise wait for that work between every two pages.
  if (page.continuation !== undefined) readAhead.put(ctx.job.id, page.continuation, read(page.continuation));
  for (const reason of page.unkeyed) {
    ctx.logger.warn({ source: config.name, err: reason }, "reimport skipped a document without a usable key");
  }
  // Dead letters with their reason, as capture makes them: shown, never skipped in silence.
  if (page.rejected.length > 0) await source.queue.reject(page.rejected, { lane: "bulk", now: ctx.now });
  const failed = new Map(page.unmapped.map((key) => [encodeKey(key), key]));
  let indexed = 0;
  for (const outcome of await writeAll(ctx, target, page.requests)) {
    if (outcome.outcome === "ok") indexed++;
    else failed.set(outcome.member, page.keys.get(outcome.member)!);
  }
  if (failed.size > 0) await source.queue.enqueue([...failed.values()], { lane: "bulk", now: ctx.now });
  ctx.pages++;
  await ctx.commit(
    { continuation: page.continuation ?? "", failures: 0 },
    {
      scanned: page.scanned,
      indexed,
      enqueued: failed.size,
      errors: page.unkeyed.length + page.rejected.length,
      pages: 1,
    },
  );
  return page.continuation !== undefined;
}

const readAhead = new ReadAhead();

/**
 * The page's bulk requests (preparePage splits it in `bulkConcurrency`, each also within
 * batchMaxBytes), that many in flight at once: Elasticsearch works one bulk request per shard on
 * one thread, so one request at a time leaves its other cores idle. Items Elasticsearch judged
 * one by one and refused go to the queue. A request it did not take as a whole (every item
 * `retry`: unreachable, timing out, throttling) is tried again a few times and then fails the
 * page, which the runner retries with backoff: handing a whole page to the queue would read every
 * document from Cosmos a second time, and an outage would move the entire container into the queue.
 */
async function writeAll(
  ctx: ChunkContext,
  target: string,
  requests: readonly (readonly SinkOp[])[],
): Promise<ItemOutcome[]> {
  const { bulkConcurrency } = ctx.deps.options;
  const results: ItemOutcome[][] = [];
  let next = 0;
  const sender = async () => {
    while (next < requests.length) results.push(await writeRequest(ctx, target, requests[next++]!));
  };
  // Settled, not raced: a page that fails must not leave requests running behind the retry.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(bulkConcurrency, requests.length) }, sender));
  const failed = settled.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  return results.flat();
}

async function writeRequest(ctx: ChunkContext, target: string, chunk: readonly SinkOp[]): Promise<ItemOutcome[]> {
  let result = await ctx.search.sink.write(target, chunk);
  for (let attempt = 1; attempt < WHOLE_REQUEST_ATTEMPTS && result.every((o) => o.outcome === "retry"); attempt++) {
    ctx.logger.warn(
      { source: ctx.source.config.name, target, attempt, error: firstError(result) },
      "reimport bulk request failed; trying again",
    );
    await ctx.pause(500 * 2 ** attempt);
    result = await ctx.search.sink.write(target, chunk);
  }
  if (result.length > 0 && result.every((o) => o.outcome === "retry")) {
    throw new DependencyError(
      "elasticsearch",
      `elasticsearch did not take the reimport's bulk request: ${firstError(result) ?? "no reason given"}`,
    );
  }
  return result;
}

function firstError(outcomes: readonly ItemOutcome[]): string | undefined {
  const failed = outcomes.find((o) => o.outcome !== "ok");
  return failed && "error" in failed ? failed.error : undefined;
}
