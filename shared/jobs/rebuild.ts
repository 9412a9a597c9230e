import {
  addAlias,
  aliasTargets,
  deleteIndex,
  putIndexSettings,
  refreshIndex,
  removeAlias,
} from "../elastic/aliases.js";
import { createIndexVersion, swapAlias } from "../elastic/index-manager.js";
import { rebuildAlias } from "../elastic/index-names.js";
import { indexesBehind } from "../elastic/ownership.js";
import type { ChunkContext } from "./context.js";

/**
 * A rebuild fills a new index version while searches keep using the old one, then swaps the
 * alias in one atomic request. Live writes reach the new index through a second alias,
 * `<alias>-rebuild`, published as the source's extra write target (write-targets.ts): writing
 * through an alias (with require_alias) means a write that comes after the new index was deleted
 * fails instead of letting Elasticsearch auto-create an index with a guessed mapping.
 *
 * Every step is safe to run again: a runner that takes over a crashed rebuild repeats the step
 * the job's phase says it was in. The rebuild alias's name is derived in elastic/index-names.ts,
 * where the configuration checks that no other source uses it.
 */
export { rebuildAlias };

/**
 * While it is filled, nobody searches the new index: no periodic refresh (each one writes a new
 * segment that merges then have to fold) and no replicas (each document would be indexed once
 * more on another node). finishRebuild restores both before the index goes live.
 */
const BULK_LOAD_SETTINGS = { "index.refresh_interval": "-1", "index.number_of_replicas": 0 } as const;

/** The source's own values of the two settings, or null (Elasticsearch's default) where it sets none. */
export function servingSettings(
  settings: Readonly<Record<string, unknown>> | undefined,
): Record<string, string | number | null> {
  const configured = (name: string): string | number | null => {
    const nested = settings?.index;
    const value =
      settings?.[name] ??
      settings?.[`index.${name}`] ??
      (nested && typeof nested === "object" ? (nested as Record<string, unknown>)[name] : undefined);
    return typeof value === "string" || typeof value === "number" ? value : null;
  };
  return {
    "index.refresh_interval": configured("refresh_interval"),
    "index.number_of_replicas": configured("number_of_replicas"),
  };
}

/** Creates the new index version with the source's mapping, puts the rebuild alias on it and publishes it to live writes. */
export async function prepareRebuild(ctx: ChunkContext): Promise<void> {
  const { deps, source } = ctx;
  const { index: alias, mapping, settings, name } = source.config;
  const extra = rebuildAlias(alias);
  if (!ctx.job.targetIndex) {
    await removeLeftovers(ctx, alias, extra);
    // Settings and alias in the create request itself: each separate change is another
    // cluster-state update, a serial round trip, before the first page may be read. Nor does
    // it wait for the new shard to start: the first page is read from Cosmos meanwhile, and its
    // bulk request waits for the shard if it has to.
    const index = await createIndexVersion(ctx.search.elastic, { alias, mapping, settings }, new Date(ctx.now), {
      overrides: BULK_LOAD_SETTINGS,
      alias: extra,
      skipShardWait: true,
    });
    await ctx.commit({ targetIndex: index, targetAlias: extra });
    ctx.logger.info({ source: name, job: ctx.job.id, index }, "rebuild: new index version created");
  } else {
    // A resumed prepare whose index an earlier driftless created bare, adding its settings and
    // alias after the create: the crash may have come in between. Both are safe to repeat.
    await putIndexSettings(ctx.search.elastic, ctx.job.targetIndex, BULK_LOAD_SETTINGS);
    await addAlias(ctx.search.elastic, ctx.job.targetIndex, extra);
  }
  await deps.targets.publish(name, extra);
  // No wait for the sync processes to notice: they read the target after every claim (shared/elastic/fan-out.ts).
  await ctx.commit({ phase: "scan" });
}

/**
 * An earlier rebuild of this source that died before recording its index may have left the
 * rebuild alias on an index. Only one reimport of a source is active at a time, so it is not in
 * use: the alias goes, and the index too when driftless made it (ownership.ts) and the live
 * alias does not point at it.
 */
async function removeLeftovers(ctx: ChunkContext, alias: string, extra: string): Promise<void> {
  const stale = await indexesBehind(ctx.search.elastic, extra, alias);
  if (stale.own.length + stale.foreign.length === 0) return;
  const live = new Set(await aliasTargets(ctx.search.elastic, alias));
  for (const index of [...stale.own, ...stale.foreign]) await removeAlias(ctx.search.elastic, index, extra);
  for (const index of stale.own) if (!live.has(index)) await deleteIndex(ctx.search.elastic, index);
}

/**
 * Makes the new index live: restore its serving settings and refresh it (so searches see every
 * document the moment the alias moves), record driftless's own index versions the alias points
 * at now, swap the alias and remove the rebuild alias in the same atomic request, stop the extra
 * live writes, and only then delete those old versions. Searches are served by the old index
 * until the swap and by the new one after it. An index an operator attached to the alias is
 * neither detached nor deleted: it was put there to be searched, and only its owner knows when
 * that ends (ownership.ts).
 */
export async function finishRebuild(ctx: ChunkContext): Promise<void> {
  const { source } = ctx;
  const alias = source.config.index;
  const target = ctx.job.targetIndex!;
  // Side by side: the explicit refresh makes everything written so far visible whatever the
  // interval, and the settings update is a cluster-state change that need not wait for it.
  const restored = await Promise.allSettled([
    putIndexSettings(ctx.search.elastic, target, servingSettings(source.config.settings)),
    refreshIndex(ctx.search.elastic, target),
  ]);
  for (const result of restored) if (result.status === "rejected") throw result.reason;
  if (ctx.job.previousIndices.length === 0) {
    const previous = (await indexesBehind(ctx.search.elastic, alias)).own.filter((index) => index !== target);
    if (previous.length > 0) await ctx.commit({ previousIndices: previous });
  }
  // A sync write through the rebuild alias after this fails as index-missing and is skipped; its
  // write to the source's alias, which comes after it (shared/elastic/fan-out.ts), reaches the new index.
  await swapAlias(ctx.search.elastic, alias, target, rebuildAlias(alias));
  await withdrawTarget(ctx);
  for (const index of ctx.job.previousIndices) if (index !== target) await deleteIndex(ctx.search.elastic, index);
  await ctx.finish("succeeded");
  ctx.logger.info(
    { source: source.config.name, job: ctx.job.id, index: target, deleted: ctx.job.previousIndices },
    "rebuild: alias swapped",
  );
}

/**
 * A cancelled or failed rebuild: live writes stop going to the new index, then it is deleted
 * (unless the alias was swapped to it already, in which case it is the live index now).
 */
export async function abandonRebuild(ctx: ChunkContext): Promise<void> {
  const { source } = ctx;
  const target = ctx.job.targetIndex;
  // The target is published only after the new index is recorded: without one there is nothing to undo.
  if (!target) return;
  await withdrawTarget(ctx);
  const live = await aliasTargets(ctx.search.elastic, source.config.index);
  if (live.includes(target)) await removeAlias(ctx.search.elastic, target, rebuildAlias(source.config.index));
  else await deleteIndex(ctx.search.elastic, target);
}

/**
 * Stops live writes to the rebuild alias. A sync process that read the target just before may
 * still write through the alias once it is gone: that write fails as an index-missing and is
 * skipped, and its write to the source's alias, which withExtraTargets makes after it, reaches
 * the swapped (or, after a cancel, the old) live index; so nothing needs to wait here.
 */
async function withdrawTarget(ctx: ChunkContext): Promise<void> {
  await ctx.deps.targets.withdraw(ctx.source.config.name, rebuildAlias(ctx.source.config.index));
}
