import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaEnqueueBody } from "../../shared/api/enqueue-body.js";
import { enqueueKeys } from "../../shared/api/enqueue.js";
import { toErrorResponse } from "../../shared/api/errors.js";
import { parseJsonBody } from "../../shared/api/request.js";
import { loadConfig } from "../../shared/config/index.js";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import { queueKeys } from "../../shared/redis/keys.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { ENQUEUE_BODIES } from "../setup/enqueue-bodies.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";

const MAX_ITEMS = 10;

/**
 * The producer's hand-checked common bodies (shared/api/enqueue-body.ts) through a real worker and
 * a real Redis: every body of the table is answered as the schema alone answers it (status and
 * JSON, refusals word for word), the keys of an accepted one are in the live lane, and a refused
 * one leaves the queue as it was.
 */
describe("POST /api/sources/{source}/enqueue: the fast path answers as the schema does", () => {
  let source: TestSource;
  let worker: WorkerHandle;
  let redis: Redis;

  beforeAll(async () => {
    source = await createTestSource({ env: { CAPTURE_ENABLED: "false", ENQUEUE_MAX_ITEMS: String(MAX_ITEMS) } });
    worker = await startWorker(loadConfig({ ...source.env, WORKER_PORT: "0", WORKER_SYNC: "false" }), {
      logger: silentLogger,
    });
    redis = new Redis(source.env.REDIS_URL!);
  });

  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
    await source?.dispose();
  });

  /** The answer the schema path gives in process: the keys to expect in the queue, or the error response. */
  function schemaAnswer(body: string): { keys: DocKey[] } | { status: number; body: unknown } {
    try {
      return { keys: enqueueKeys(schemaEnqueueBody(parseJsonBody(body)), source.config.sources[0]!, MAX_ITEMS) };
    } catch (error) {
      const { status, body: answer } = toErrorResponse(error);
      return { status, body: answer };
    }
  }

  it("answers every body of the table as the schema does, and enqueues exactly the accepted keys", async () => {
    const keys = queueKeys(source.config.redis.keyPrefix, source.name);
    let accepted = 0;
    for (const body of ENQUEUE_BODIES) {
      await redis.del(keys.live);
      const expected = schemaAnswer(body);
      const response = await fetch(`${worker.url}/sources/${source.name}/enqueue`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = await response.json();
      const queued = await redis.zrange(keys.live, 0, -1);
      if ("keys" in expected) {
        accepted++;
        const members = [...new Set(expected.keys.map(encodeKey))];
        expect({ status: response.status, answer }, body).toEqual({
          status: 202,
          answer: { enqueued: members.length, duplicates: expected.keys.length - members.length },
        });
        expect(queued.sort(), body).toEqual(members.sort());
      } else {
        expect({ status: response.status, answer }, body).toEqual({ status: expected.status, answer: expected.body });
        expect(queued, body).toEqual([]);
      }
    }
    // The table must hold accepted bodies as well as refused ones, or the test proves half.
    expect(accepted).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
