import { DependencyError } from "../core/errors.js";
import { encodeKey, partitionKeyOf, type DocKey } from "../core/keys.js";
import type { ItemOutcome, SinkOp } from "../elastic/types.js";
import type { ScanPage } from "../cosmos/scan.js";
import { chunkByBytes } from "../sync/chunk.js";
import { mapperFor } from "./mappers.js";
import type { ChunkContext } from "./context.js";
import { finishRebuild, prepareRebuild } from "./rebuild.js";

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
 * Reads one page of full documents, writes them to `target` directly (each document is read
 * once), hands the items that failed to the bulk lane of the queue (where retries and dead
 * letters apply), then commits the counters with the next continuation in one step. A crash
 * before the commit scans the page again; nothing is counted twice.
 */
async function scanPage(ctx: ChunkContext, target: string): Promise<boolean> {
  const { deps, source } = ctx;
  const config = source.config;
  const scanner = deps.scanner(config);
  const page = await readAhead.take(ctx.job.id, ctx.job.continuation, () => scanner.readPage(ctx.job.continuation, deps.options.pageSize));
  // The next page is read from Cosmos while this one is written to Elasticsearch.
  if (page.continuation !== undefined) {
    const next = page.continuation;
    readAhead.put(ctx.job.id, next, () => scanner.readPage(next, deps.options.pageSize));
  }
  const readAtSeconds = Math.floor(ctx.now / 1000);
  const mapper = mapperFor(config);
  const ops: SinkOp[] = [];
  const keys = new Map<string, DocKey>();
  const failed = new Map<string, DocKey>();
  let unkeyed = 0;
  for (const document of page.documents) {
    let key: DocKey;
    try {
      if (typeof document.id !== "string") throw new TypeError("document without a string id");
      key = { id: document.id, pk: partitionKeyOf(document, config.partitionKeyPaths) };
    } catch (error) {
      unkeyed++;
      ctx.logger.warn({ source: config.name, err: String(error) }, "reimport skipped a document without a usable key");
      continue;
    }
    const member = encodeKey(key);
    keys.set(member, key);
    try {
      ops.push({ ...mapper(key, document, readAtSeconds), member });
    } catch {
      // The sync maps it again and dead-letters it with the mapping error as the reason.
      failed.set(member, key);
    }
  }
  let indexed = 0;
  for (const outcome of await writeAll(ctx, target, ops)) {
    if (outcome.outcome === "ok") indexed++;
    else failed.set(outcome.member, keys.get(outcome.member)!);
  }
  if (failed.size > 0) await source.queue.enqueue([...failed.values()], { lane: "bulk", now: ctx.now });
  ctx.pages++;
  await ctx.commit(
    { continuation: page.continuation ?? "", failures: 0 },
    { scanned: page.documents.length, indexed, enqueued: failed.size, errors: unkeyed, pages: 1 },
  );
  return page.continuation !== undefined;
}

/**
 * At most one page read ahead per job, kept by this process only: the continuation it belongs to
 * must match the one the job resumes from, so a page is never used for another position, and a
 * page read ahead by a runner that then lost the job is simply dropped after a minute. A failed
 * read-ahead fails nothing by itself: the page is read again when it is needed.
 */
const readAhead = (() => {
  const pages = new Map<string, { continuation: string; page: Promise<ScanPage | undefined>; at: number }>();
  return {
    put(jobId: string, continuation: string, read: () => Promise<ScanPage>) {
      const now = Date.now();
      for (const [id, entry] of pages) if (now - entry.at > 60_000) pages.delete(id);
      pages.set(jobId, { continuation, page: read().catch(() => undefined), at: now });
    },
    async take(jobId: string, continuation: string | undefined, read: () => Promise<ScanPage>): Promise<ScanPage> {
      const entry = pages.get(jobId);
      pages.delete(jobId);
      const ahead = entry && entry.continuation === continuation ? await entry.page : undefined;
      return ahead ?? read();
    },
  };
})();

/**
 * The page in `bulkConcurrency` bulk requests (each also within batchMaxBytes), all in flight at
 * once: Elasticsearch works one bulk request per shard on one thread, so one request at a time
 * leaves its other cores idle. Items Elasticsearch judged one by one and refused go to the queue.
 * A request it did not take as a whole (every item `retry`: unreachable, timing out, throttling)
 * is tried again a few times and then fails the page, which the runner retries with backoff:
 * handing a whole page to the queue would read every document from Cosmos a second time, and an
 * outage would move the entire container into the queue.
 */
async function writeAll(ctx: ChunkContext, target: string, ops: readonly SinkOp[]): Promise<ItemOutcome[]> {
  const { batchMaxBytes, bulkConcurrency } = ctx.deps.options;
  const requests = [...splitRequests(ops, batchMaxBytes, bulkConcurrency)];
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

/** Requests of at most ⌈ops / parts⌉ documents and `maxBytes` each. */
function* splitRequests(ops: readonly SinkOp[], maxBytes: number, parts: number): Generator<SinkOp[]> {
  const perRequest = Math.max(1, Math.ceil(ops.length / parts));
  for (const chunk of chunkByBytes(ops, maxBytes)) {
    for (let start = 0; start < chunk.length; start += perRequest) yield chunk.slice(start, start + perRequest);
  }
}

async function writeRequest(ctx: ChunkContext, target: string, chunk: readonly SinkOp[]): Promise<ItemOutcome[]> {
  let result = await ctx.deps.sink.write(target, chunk);
  for (let attempt = 1; attempt < WHOLE_REQUEST_ATTEMPTS && result.every((o) => o.outcome === "retry"); attempt++) {
    ctx.logger.warn({ source: ctx.source.config.name, target, attempt, error: firstError(result) }, "reimport bulk request failed; trying again");
    await ctx.pause(500 * 2 ** attempt);
    result = await ctx.deps.sink.write(target, chunk);
  }
  if (result.length > 0 && result.every((o) => o.outcome === "retry")) {
    throw new DependencyError("elasticsearch", `elasticsearch did not take the reimport's bulk request: ${firstError(result) ?? "no reason given"}`);
  }
  return result;
}

function firstError(outcomes: readonly ItemOutcome[]): string | undefined {
  const failed = outcomes.find((o) => o.outcome !== "ok");
  return failed && "error" in failed ? failed.error : undefined;
}
