import { Redis } from "ioredis";
import type { Client } from "@elastic/elasticsearch";
import { expect } from "vitest";
import { queueKeys } from "../../../shared/redis/keys.js";
import type { SourceQueue } from "../../../shared/sync/ports.js";
import { differences } from "../../setup/compare.js";
import { eventually, type TestSource } from "../../setup/fixtures.js";

/** Raw Redis access to a source's queue keys, for what the queue API does not expose (the attempts hash). */
export function queueProbe(redisUrl: string, prefix: string, source: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  redis.on("error", () => undefined);
  const keys = queueKeys(prefix, source);
  return {
    /** Keys that have spent at least one attempt and are not settled yet. */
    attempts: () => redis.hlen(keys.attempts),
    close: () =>
      redis.quit().then(
        () => undefined,
        () => redis.disconnect(),
      ),
  };
}

/** The source with `indexed()` reading from another cluster (a fault test's own Elasticsearch). */
export function onCluster(source: TestSource, elastic: Client, alias: string): TestSource {
  return {
    ...source,
    async indexed() {
      await elastic.indices.refresh({ index: alias });
      const result = await elastic.search<Record<string, unknown>>({
        index: alias,
        size: 10_000,
        version: true,
        query: { match_all: {} },
      });
      return new Map(result.hits.hits.map((hit) => [hit._id!, { version: hit._version!, source: hit._source! }]));
    },
  };
}

/** Waits until the queue is empty (nothing pending, nothing in flight). */
export async function drained(queue: SourceQueue, timeoutMs = 120_000): Promise<void> {
  await eventually(
    async () => {
      const stats = await queue.stats(Date.now());
      expect({ pending: stats.pending, inflight: stats.inflight }).toEqual({ pending: 0, inflight: 0 });
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/**
 * The end state every fault scenario must reach: the index equals Cosmos document by document and
 * version by version, or the documents that differ are exactly the dead letters. Returns the
 * differences (for the printed counts) after checking that.
 */
export async function indexMatchesCosmos(
  source: TestSource,
  queue: SourceQueue,
): Promise<{ mismatches: string[]; deadLetters: number }> {
  const dead = await queue.listDeadLetters({ limit: 1000 });
  const deadIds = new Set(dead.map((letter) => letter.key.id));
  const mismatches = await differences(source);
  const differing = new Set(mismatches.map((line) => line.slice(0, line.indexOf(":"))));
  expect([...differing].sort()).toEqual([...deadIds].sort());
  return {
    mismatches: mismatches.filter((line) => !deadIds.has(line.slice(0, line.indexOf(":")))),
    deadLetters: dead.length,
  };
}
