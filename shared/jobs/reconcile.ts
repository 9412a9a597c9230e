import type { SourceConfig } from "../config/source.js";
import { decodeKey, encodeKey, type DocKey } from "../core/keys.js";
import { countDocuments } from "../elastic/aliases.js";
import { PointInTimeGoneError } from "../elastic/scan.js";
import { documentId, mapperFor, type DocumentMapper } from "../sync/mapper.js";
import { loadRelated, type RelatedDocuments } from "../sync/relations.js";
import type { ReadResult } from "../sync/ports.js";
import type { ChunkContext } from "./context.js";

/** How long the point in time lives between two pages; every page extends it. */
export const PIT_KEEP_ALIVE = "10m";

interface Position {
  readonly pit: string;
  readonly after: readonly unknown[] | null;
  /** Documents behind the alias when the reconcile began: the base of the delete guard. */
  readonly total?: number;
}

/**
 * One step of a reconcile: open a point in time on the alias, then one page of index entries:
 * each entry's `driftless.key` is checked against Cosmos (point reads), and the keys Cosmos no
 * longer has go to the queue's bulk lane, where the sync turns them into deletes (it reads the
 * document first, so a key that came back in the meantime is indexed, not deleted). Returns true
 * once the job has ended.
 */
export async function reconcileStep(ctx: ChunkContext): Promise<boolean> {
  const { deps, source } = ctx;
  if (ctx.job.phase === "prepare") {
    // In an index several sources share, this source's entries only: the others' are not its to check or delete.
    const total = await countDocuments(ctx.search.elastic, source.config.index, ownEntries(source.config));
    const pit = await ctx.search.indexScanner.open(source.config.index, PIT_KEEP_ALIVE);
    await ctx.commit({ phase: "scan", continuation: JSON.stringify({ pit, after: null, total } satisfies Position) });
    return false;
  }
  const position = JSON.parse(ctx.job.continuation ?? "null") as Position | null;
  if (!position) throw new Error(`reconcile job ${ctx.job.id} has no saved position`);
  let page: Awaited<ReturnType<typeof ctx.search.indexScanner.page>>;
  try {
    page = await ctx.search.indexScanner.page({
      pit: position.pit,
      after: position.after ?? undefined,
      size: deps.options.reconcileBatchSize,
      keepAlive: PIT_KEEP_ALIVE,
      source: ownEntries(source.config),
    });
  } catch (error) {
    if (!(error instanceof PointInTimeGoneError)) throw error;
    // Checking an entry twice is harmless; the scan starts over on a new point in time.
    const pit = await ctx.search.indexScanner.open(source.config.index, PIT_KEEP_ALIVE);
    await ctx.commit(
      {
        continuation: JSON.stringify({ ...position, pit, after: null } satisfies Position),
        lastError: `${error.message}; the scan started over`,
      },
      { errors: 1 },
    );
    return false;
  }
  if (page.hits.length === 0) {
    await ctx.search.indexScanner.close(page.pit);
    await ctx.finish("succeeded");
    return true;
  }

  const keys: { member: string; key: DocKey }[] = [];
  const indexedVersion = new Map<string, number>();
  let unreadable = 0;
  const foreign: { id: string; key: string }[] = [];
  for (const hit of page.hits) {
    let key: DocKey;
    try {
      if (!hit.key) throw new TypeError("no driftless.key");
      key = decodeKey(hit.key);
    } catch {
      // Written by something other than driftless: there is no Cosmos key to check it against.
      unreadable++;
      continue;
    }
    // The key must name the entry it was read from. One that names another _id (an entry written
    // past driftless, or under another documentId setting) would make the sync delete that other
    // document, which this entry says nothing about.
    if (documentId(source.config, key) !== hit.id) {
      foreign.push({ id: hit.id, key: hit.key });
      continue;
    }
    const member = encodeKey(key);
    keys.push({ member, key });
    if (hit.version !== undefined) indexedVersion.set(member, hit.version);
  }
  if (foreign.length > 0) {
    ctx.logger.warn(
      { source: source.config.name, job: ctx.job.id, count: foreign.length, example: foreign[0] },
      "reconcile: index entries whose driftless.key names another document's _id were skipped",
    );
  }
  const { gone, unsure } = await checkInCosmos(ctx, keys);
  const refusal = deleteGuard(ctx, position.total, gone.length);
  if (refusal) {
    await ctx.search.indexScanner.close(page.pit).catch(() => undefined);
    deps.logger.error({ job: ctx.job.id, source: source.config.name }, refusal);
    await ctx.finish("failed", refusal);
    return true;
  }
  // A key Cosmos could not answer for goes to the queue too: the sync reads it again and
  // indexes or deletes it, so nothing is decided on a failed read.
  const toQueue = [...gone, ...unsure];
  // A gone key is deleted at the version it is indexed at, not at the sync's clock (freshness.ts):
  // the delete wins over exactly what Cosmos no longer has, and never over a newer write.
  const deletes = gone.flatMap((key) => {
    const member = encodeKey(key);
    const version = indexedVersion.get(member);
    return version === undefined ? [] : [{ member, version, deleted: true }];
  });
  if (deletes.length > 0) await source.queue.recordVersions(deletes, ctx.now);
  if (toQueue.length > 0) await source.queue.enqueue(toQueue, { lane: "bulk", now: ctx.now });
  ctx.pages++;
  await ctx.commit(
    {
      continuation: JSON.stringify({ ...position, pit: page.pit, after: page.after ?? null } satisfies Position),
      failures: 0,
    },
    {
      scanned: page.hits.length,
      missing: gone.length,
      enqueued: toQueue.length,
      errors: unreadable + foreign.length + unsure.length,
      pages: 1,
    },
  );
  return false;
}

/**
 * Why this page's deletes must not be enqueued: together with the earlier pages' they would remove
 * more than RECONCILE_MAX_DELETE_SHARE of the documents the index held when the reconcile began.
 * Undefined when they may go. Earlier pages stayed within the share, so a stopped reconcile has
 * deleted at most that share.
 */
function deleteGuard(ctx: ChunkContext, total: number | undefined, goneOnPage: number): string | undefined {
  const share = ctx.deps.options.reconcileMaxDeleteShare ?? 1;
  if (share >= 1 || goneOnPage === 0 || total === undefined || total === 0) return undefined;
  const missing = ctx.job.missing + goneOnPage;
  if (missing <= share * total) return undefined;
  const percent = (value: number) => `${Math.round(value * 1000) / 10}%`;
  return (
    `reconcile stopped: ${missing} of the ${total} indexed documents (${percent(missing / total)}) are missing from Cosmos, ` +
    `more than RECONCILE_MAX_DELETE_SHARE (${percent(share)}) allows; this page's ${goneOnPage} deletes were not queued. ` +
    `Check that the source names the right container; to delete them anyway, raise RECONCILE_MAX_DELETE_SHARE and run reconcile again`
  );
}

/** Point reads of every key; a key is gone when Cosmos has no document, or one the mapping turns into a delete (soft delete). */
async function checkInCosmos(
  ctx: ChunkContext,
  keys: readonly { member: string; key: DocKey }[],
): Promise<{ gone: DocKey[]; unsure: DocKey[] }> {
  const config = ctx.source.config;
  const reader = ctx.deps.reader(config);
  const mapper = mapperFor(config);
  const byMember = new Map(keys.map((entry) => [entry.member, entry]));
  const gone: DocKey[] = [];
  let retry: { member: string; key: DocKey }[] = [];
  const judge = async (results: readonly ReadResult[]) => {
    // A transform may decide from a related document whether to keep its document.
    const related = await loadRelated(
      config,
      results.flatMap((result) => ("found" in result && result.found ? [result.document] : [])),
      ctx.deps.related(config),
    );
    for (const result of results) {
      const entry = byMember.get(result.member)!;
      if ("error" in result) retry.push(entry);
      else if (!result.found) gone.push(entry.key);
      else if (deletedByMapping(mapper, entry.key, result.document, related)) gone.push(entry.key);
    }
  };
  await judge(await reader.read(keys));
  if (retry.length > 0) {
    const again = retry;
    retry = [];
    await judge(await reader.read(again));
  }
  return { gone, unsure: retry.map((entry) => entry.key) };
}

function deletedByMapping(
  mapper: DocumentMapper,
  key: DocKey,
  document: Record<string, unknown>,
  related: RelatedDocuments,
): boolean {
  try {
    return mapper(key, document, 0, related).action === "delete";
  } catch {
    return false;
  }
}

/** The `driftless.source` filter of a source that shares its index; undefined for one that has it alone. */
function ownEntries(source: SourceConfig): string | undefined {
  return source.sharedIndex ? source.name : undefined;
}
