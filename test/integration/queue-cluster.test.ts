import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKey, type DocKey } from "../../shared/core/keys.js";
import { createCaptureStore } from "../../shared/capture/capture-store.js";
import { createWakeUp } from "../../shared/dispatch/wake.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { systemClock } from "../../shared/core/clock.js";
import type { Ticket } from "../../shared/dispatch/tickets.js";
import { createJobStore } from "../../shared/jobs/store.js";
import { createQueue } from "../../shared/queue/index.js";
import { captureKeys, jobKeys, mirrorCursorKey, queueKeys, wakeKeys, type QueueKeys } from "../../shared/redis/keys.js";
import { commandName, QUEUE_SCRIPTS, SCRIPTS, scriptSources, type ScriptName } from "../../shared/redis/scripts.js";
import { findExecutable } from "../../scripts/stack/executables.js";
import { freePort } from "../../scripts/stack/ports.js";
import { ServiceProcess } from "../../scripts/stack/service-process.js";
import { uniqueName } from "../setup/services.js";

// ioredis's own slot function (a dependency of ioredis, without type declarations).
const keySlot = createRequire(import.meta.url)("cluster-key-slot") as (key: string) => number;

const T = 1_700_000_000_000;
const key = (id: string): DocKey => ({ id, pk: id });
const member = (id: string): string => encodeKey(key(id));

describe("cluster-safe key layout", () => {
  it.each(["orders", "demo", "a.b:c", "tenant-7/items", "ünïcødé"])(
    "puts every key of source %j in one slot",
    (source) => {
      const keys: QueueKeys = queueKeys("driftless", source);
      const slots = new Set(Object.values(keys).map(keySlot));
      expect(slots.size).toBe(1);
      expect(Object.values(keys).every((name) => name.startsWith(`driftless:{${source}}:`))).toBe(true);
    },
  );

  it.each(["orders", "tenant-7/items"])(
    "puts the jobs', capture's and mirror's keys of source %j in the queue's slot",
    (source) => {
      const job = jobKeys("driftless", source);
      const others = [
        job.job("reimport-x-1-00000000"),
        job.list,
        job.active("reimport"),
        job.lease("reconcile"),
        job.writeTarget,
        ...Object.values(captureKeys("driftless", source)),
        mirrorCursorKey("driftless", source),
      ];
      const slot = keySlot(queueKeys("driftless", source).live);
      expect(others.map(keySlot).every((s) => s === slot)).toBe(true);
      expect(others.every((name) => name.startsWith(`driftless:{${source}}:`))).toBe(true);
    },
  );

  it("gives every script only keys of one source, declared in KEYS", () => {
    const keys = queueKeys("p", "orders");
    for (const names of Object.values(QUEUE_SCRIPTS)) {
      expect(new Set(names.map((name) => keySlot(keys[name]))).size).toBe(1);
    }
  });
});

// A one-node Redis Cluster owning every slot: Redis itself refuses cross-slot requests there, and
// a script declared with a shebang (Redis 7) may not touch any key outside its declared slot.
const redisServer = findExecutable(process.env.REDIS_SERVER ?? "redis-server");

// Skipped only on a developer's machine without redis-server; in CI (CI=true) a missing server fails.
describe.skipIf(redisServer === null && !process.env.CI)("queue on a Redis Cluster node", () => {
  let dir: string;
  let server: ServiceProcess;
  let cluster: Cluster;

  beforeAll(async () => {
    if (redisServer === null)
      throw new Error("redis-server not found (REDIS_SERVER or PATH): CI must run the cluster tests");
    dir = await mkdtemp(join(tmpdir(), "driftless-cluster-"));
    const port = await freePort();
    server = ServiceProcess.spawn({
      service: "redis",
      command: redisServer!,
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, "nodes.conf"),
        // Without it the node announces an empty address and the cluster client cannot find it.
        "--cluster-announce-ip",
        "127.0.0.1",
      ],
      cwd: dir,
      logFile: join(dir, "redis.log"),
    });
    // A fresh connection per probe: one that failed while the server was starting stays closed.
    const ask = async (...command: string[]): Promise<string> => {
      const admin = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on("error", () => {}); // refused while starting: the probe's rejection says enough
      try {
        await admin.connect();
        return String(await admin.call(command[0]!, ...command.slice(1)));
      } finally {
        admin.disconnect();
      }
    };
    await server.waitReady(async () => (await ask("PING")) === "PONG", 15_000);
    await ask("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    await server.waitReady(async () => (await ask("CLUSTER", "INFO")).includes("cluster_state:ok"), 15_000);
    cluster = new Cluster([{ host: "127.0.0.1", port }]);
  });

  afterAll(async () => {
    await cluster?.quit();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs every script under Redis's own single-slot checks", async () => {
    const prefix = uniqueName("dlq");
    const queue = createQueue(cluster, {
      prefix,
      random: () => 0,
      retry: { maxAttempts: 2, backoffBaseMs: 100, backoffMaxMs: 100 },
    }).forSource("orders");
    // The same scripts again with a Redis 7 shebang: now any key access outside the declared slot fails.
    for (const [name, lua] of scriptSources()) {
      cluster.defineCommand(commandName(name), { lua: `#!lua\n${lua}`, numberOfKeys: SCRIPTS[name].length });
    }
    // The checks are live: a cross-slot request and a script reaching outside its slot are refused.
    await expect(cluster.eval("return 1", 2, "{a}x", "{b}y")).rejects.toThrow(/CROSSSLOT/);
    await expect(
      cluster.eval("#!lua\nreturn redis.call('GET', 'elsewhere')", 1, `${prefix}:{orders}:live`),
    ).rejects.toThrow(/same slot/);

    const used = new Set<ScriptName>();
    const track = <R>(name: ScriptName, result: R): R => {
      used.add(name);
      return result;
    };

    expect(
      track("enqueue", await queue.enqueue([key("a"), key("b"), key("c"), key("a")], { lane: "live", now: T })),
    ).toEqual({
      enqueued: 3,
      duplicates: 1,
      isDuplicate: [false, false, false, true],
    });
    await queue.enqueue([key("d")], { lane: "bulk", now: T });
    const claim = track("claim", await queue.claim({ max: 4, leaseMs: 1000, now: T }));
    expect(claim.items).toHaveLength(4);
    await queue.enqueue([key("a")], { lane: "live", now: T + 1 }); // dirty
    expect(track("extend", await queue.extend(claim.token, [member("b")], 5000, T + 1))).toEqual({
      settled: 1,
      stale: 0,
    });
    expect(track("ack", await queue.ack(claim.token, [member("a")], T + 2))).toEqual({ settled: 1, stale: 0 });
    expect(
      track("retry", await queue.retry(claim.token, [{ member: member("c"), error: "503" }], T + 2)),
    ).toMatchObject({
      settled: 1,
    });
    expect(
      track("deadLetter", await queue.deadLetter(claim.token, [{ member: member("d"), error: "400" }], T + 2)),
    ).toEqual({
      settled: 1,
      stale: 0,
    });
    expect(track("reap", await queue.reap(T + 5001))).toEqual({ requeued: 1, deadLettered: 0 });
    const again = await queue.claim({ max: 10, leaseMs: 1000, now: T + 5001 });
    expect(again.items.map((i) => i.key.id).sort()).toEqual(["a", "b", "c"]);
    expect(track("release", await queue.release(again.token, [member("b")], T + 5002))).toEqual({
      settled: 1,
      stale: 0,
    });
    expect((await queue.retry(again.token, [{ member: member("c"), error: "503" }], T + 5002)).deadLettered).toBe(1);
    expect(track("listDeadLetters", await queue.listDeadLetters()).map((d) => [d.key.id, d.reason])).toEqual([
      ["d", "rejected"],
      ["c", "max attempts"],
    ]);
    expect(
      track("listDeadLettersAfter", await queue.listDeadLettersAfter(0)).map((d) => [d.letter.key.id, d.sequence]),
    ).toEqual([
      ["d", 1],
      ["c", 2],
    ]);
    expect((await queue.listDeadLettersAfter(1)).map((d) => d.letter.key.id)).toEqual(["c"]);
    expect(track("redrive", await queue.redrive(T + 5003, [member("d")]))).toBe(1);
    expect(track("purgeDeadLetters", await queue.purgeDeadLetters())).toBe(1);
    await queue.markSynced(T + 5003);
    used.add("markSynced");
    await queue.recordVersions([{ member: member("b"), version: 5, deleted: false }], T + 5003);
    used.add("recordVersions");
    const [record] = await queue.versions([member("b")]);
    expect(record).toMatchObject({ version: 5, deleted: false });
    await queue.clearVersions([{ member: member("b"), raw: record!.raw }]);
    used.add("clearVersions");
    expect(await queue.versions([member("b")])).toEqual([undefined]);
    expect(
      track(
        "reject",
        await queue.reject(
          [
            {
              member: encodeKey({ id: "x", pk: { invalid: "partition key at /tenant is an object" } }),
              reason: "bad key",
              error: "bad key",
            },
          ],
          { lane: "live", now: T + 5003 },
        ),
      ),
    ).toBe(1);
    expect(await queue.purgeDeadLetters()).toBe(1);
    expect(track("recordTimeouts", await queue.recordTimeouts(again.token, [member("a")], 4, T + 5003))).toEqual([0]);
    expect(await queue.timeouts([member("a")])).toEqual([{ cap: 4, solo: 0, at: T + 5003 }]);
    await queue.clearTimeouts([member("a")]);
    expect(track("stats", await queue.stats(T + 5003))).toMatchObject({
      pendingLive: 1,
      pendingBulk: 1,
      inflight: 1,
      deadLettered: 0,
      lastSyncAt: T + 5003,
    });
    expect([...used].sort()).toEqual(Object.keys(QUEUE_SCRIPTS).sort());
    const leftovers = await cluster.keys(`${prefix}:*`);
    if (leftovers.length > 0) await cluster.del(...leftovers);
  });

  it("runs the jobs', lease, capture and wake-up scripts under the same checks", async () => {
    const prefix = uniqueName("jobs");
    const jobs = createJobStore(cluster, prefix);
    const capture = createCaptureStore(cluster, prefix, "orders");
    const sent: Ticket[] = [];
    const wakeUp = createWakeUp({
      redis: cluster,
      prefix,
      sender: { send: async (tickets) => void sent.push(...tickets), close: async () => undefined },
      debounceMs: 60_000,
      clock: systemClock,
      logger: silentLogger,
    });
    for (const [name, lua] of scriptSources()) {
      cluster.defineCommand(commandName(name), { lua: `#!lua\n${lua}`, numberOfKeys: SCRIPTS[name].length });
    }
    const created = await jobs.create("reimport", "orders", T); // createJob
    if (!created.created) throw new Error("a fresh prefix has no active job");
    const job = created.job;
    expect(await jobs.acquire(job, "runner", 5000)).toBe(true); // acquireLease
    expect(await jobs.commit(job, "runner", 5000, { increments: { scanned: 3 }, now: T + 1 })).toBe("ok"); // commitJob
    expect(await jobs.commit({ ...job, id: `${job.id.slice(0, -8)}ffffffff` }, "runner", 5000, { now: T + 1 })).toBe(
      "missing",
    );
    expect(await jobs.cancel(job, T + 2)).toBe("requested"); // cancelJob
    expect(await jobs.finish(job, "runner", "cancelled", T + 3)).toBe(true); // finishJob
    expect(await jobs.get(job.id)).toMatchObject({ state: "cancelled", scanned: 3 });
    expect(await capture.acquire(5000)).toBe(true);
    expect(await capture.saveCheckpoint("continuation-1")).toBe(true); // saveCheckpoint
    expect((await capture.checkpoint()).continuation).toBe("continuation-1");
    await capture.release(); // deleteIfEquals
    expect(await cluster.exists(captureKeys(prefix, "orders").lease)).toBe(0);
    expect(new Set(Object.values(wakeKeys(prefix, "orders")).map(keySlot)).size).toBe(1);
    expect(await wakeUp.wake("orders")).toBe(true); // wake
    expect(await wakeUp.wake("orders")).toBe(false);
    expect(await wakeUp.drainEnded("orders", "none")).toBe(0); // endDrain
    await wakeUp.drainStarted("orders", "d1", 60_000); // startDrain
    expect(await wakeUp.wake("orders")).toBe(false);
    expect(sent).toEqual([{ kind: "sync", source: "orders" }]);
    const leftovers = await cluster.keys(`${prefix}:*`);
    if (leftovers.length > 0) await cluster.del(...leftovers);
  });
});
