import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJobStore, type JobStore } from "../../shared/jobs/store.js";
import { services, uniqueName } from "../setup/services.js";

/** The job records and runner leases against a real Redis: one active job per kind, one runner per job. */
describe("job store", () => {
  let redis: Redis;
  let store: JobStore;
  let prefix: string;
  const source = "shop";

  beforeAll(() => {
    redis = new Redis(services().redisUrl);
    prefix = uniqueName("jobs");
    store = createJobStore(redis, prefix);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it("keeps one active job per source and kind, and frees the slot when the job ends", async () => {
    const first = await store.create("reimport", source, 1000, "rebuild");
    expect(first.created).toBe(true);
    const job = first.created ? first.job : undefined!;
    expect(job).toMatchObject({ kind: "reimport", source, state: "queued", mode: "rebuild", scanned: 0 });
    expect(job.id).toMatch(/^reimport-shop-[0-9a-z]+-[0-9a-f]{8}$/);
    expect(await store.create("reimport", source, 1001)).toEqual({ created: false, activeId: job.id });
    const other = await store.create("reconcile", source, 1002);
    expect(other.created).toBe(true);

    expect(await store.acquire(job, "runner-a", 10_000)).toBe(true);
    expect(await store.finish(job, "runner-b", "succeeded", 2000)).toBe(false);
    expect(await store.finish(job, "runner-a", "succeeded", 2000)).toBe(true);
    expect(await store.get(job.id)).toMatchObject({ state: "succeeded", finishedAt: 2000 });
    expect(await redis.ttl(store.keys(source).job(job.id))).toBeGreaterThan(0);
    expect((await store.create("reimport", source, 3000)).created).toBe(true);
  });

  it("lets one runner hold a job; after its lease expires another takes over and the first can no longer commit", async () => {
    const created = await store.create("reconcile", "other", 1000);
    const job = created.created ? created.job : undefined!;
    // A lease of 2 s: the calls below fit in it on a loaded machine, and the test waits it out.
    const LEASE = 2000;
    expect(await store.acquire(job, "a", LEASE)).toBe(true);
    expect(await store.acquire(job, "b", LEASE)).toBe(false);
    expect(
      await store.commit(job, "a", LEASE, {
        update: { state: "running", startedAt: 1100 },
        expectState: "queued",
        now: 1100,
      }),
    ).toBe("ok");
    expect(
      await store.commit(job, "a", LEASE, {
        increments: { scanned: 500, pages: 1 },
        update: { continuation: "page-2" },
        now: 1200,
      }),
    ).toBe("ok");
    expect(
      await store.commit(job, "a", LEASE, { update: { state: "running" }, expectState: "queued", now: 1200 }),
    ).toBe("wrong_state");

    // a's lease expires (a is paused, or dead): b gets the job as soon as it has.
    const deadline = Date.now() + 15_000;
    while (!(await store.acquire(job, "b", 10_000))) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(
      await store.commit(job, "a", LEASE, {
        increments: { scanned: 500 },
        update: { continuation: "stale" },
        now: 1300,
      }),
    ).toBe("lease_lost");
    expect(
      await store.commit(job, "b", 10_000, {
        increments: { scanned: 500, pages: 1 },
        update: { continuation: "page-3" },
        now: 1400,
      }),
    ).toBe("ok");
    expect(await store.get(job.id)).toMatchObject({
      state: "running",
      scanned: 1000,
      pages: 2,
      continuation: "page-3",
    });
  });

  it("tells a commit to a job whose record is gone from one in another state", async () => {
    const created = await store.create("reimport", "vanishing", 1000);
    const job = created.created ? created.job : undefined!;
    expect(await store.acquire(job, "a", 10_000)).toBe(true);
    expect(
      await store.commit(job, "a", 10_000, { update: { state: "running" }, expectState: "running", now: 1100 }),
    ).toBe("wrong_state");
    await redis.del(store.keys(job.source).job(job.id)); // expired, or deleted by hand
    expect(await store.commit(job, "a", 10_000, { increments: { scanned: 1 }, now: 1200 })).toBe("missing");
    expect(await redis.exists(store.keys(job.source).job(job.id))).toBe(0);
  });

  it("cancels a queued job at once, marks a held one for its runner, and reports a finished one", async () => {
    const queued = await store.create("reimport", "cancel-me", 1000);
    const job = queued.created ? queued.job : undefined!;
    expect(await store.cancel(job, 1100)).toBe("now");
    expect(await store.get(job.id)).toMatchObject({ state: "cancelled", cancelRequested: true, finishedAt: 1100 });
    expect(await store.cancel(job, 1200)).toBe("cancelled");

    const held = await store.create("reimport", "cancel-me", 1300);
    const running = held.created ? held.job : undefined!;
    expect(await store.acquire(running, "r", 10_000)).toBe(true);
    expect(await store.cancel(running, 1400)).toBe("requested");
    expect(await store.get(running.id)).toMatchObject({ state: "queued", cancelRequested: true });
  });

  it("frees a slot that points at a job whose record is gone", async () => {
    const first = await store.create("reimport", "lost", 1000);
    const job = first.created ? first.job : undefined!;
    await redis.del(store.keys("lost").job(job.id));
    const second = await store.create("reimport", "lost", 2000);
    expect(second.created).toBe(true);
  });
});
