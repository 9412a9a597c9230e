import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/stack/ports.js";
import { loadConfig } from "../../shared/config/index.js";
import { createLogger } from "../../shared/telemetry/logger.js";
import { startWorker, type WorkerHandle } from "../../shared/worker/worker.js";
import { createTestSource, eventually, type TestSource } from "../setup/fixtures.js";
import { startTlsRedis, type TlsRedis } from "./support/tls-redis.js";

const secret = (bytes: number) => randomBytes(bytes).toString("base64url");
const SECRETS = {
  COSMOS_KEY: randomBytes(64).toString("base64"),
  ELASTICSEARCH_API_KEY: Buffer.from(`${secret(8)}:${secret(16)}`).toString("base64"),
  DRIFTLESS_API_KEY: secret(24),
  REDIS_PASSWORD: secret(18),
  ELASTICSEARCH_PASSWORD: secret(18),
};

/**
 * A full run with every secret configured (Cosmos key, Elasticsearch API key, then a password in
 * the Elasticsearch URL, the worker's API key, the Redis password in a rediss:// URL), through
 * success and failure: syncing, a dead letter, bad and unauthorised requests, redrive and purge,
 * Elasticsearch unreachable (the worker waits for its indexes), and the CLI failing on bad settings. Every
 * log line (JSON, at trace level) and every HTTP and CLI answer is searched for the secrets.
 */
describe("secrets never appear in logs, HTTP answers or CLI errors", () => {
  let dir: string;
  let redis: TlsRedis;
  let source: TestSource;
  const logs: string[] = [];
  const answers: string[] = [];
  let workers: WorkerHandle[] = [];

  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-secrets-"));
    await chmod(dir, 0o755);
    redis = await startTlsRedis(dir, SECRETS.REDIS_PASSWORD);
    source = await createTestSource();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop().catch(() => undefined);
    await source?.dispose();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...source.env,
    REDIS_URL: redis.url,
    REDIS_CA_FILE: redis.caFile,
    COSMOS_KEY: SECRETS.COSMOS_KEY,
    ELASTICSEARCH_API_KEY: SECRETS.ELASTICSEARCH_API_KEY,
    DRIFTLESS_API_KEY: SECRETS.DRIFTLESS_API_KEY,
    WORKER_PORT: "0",
    LOG_LEVEL: "trace",
    CIRCUIT_FAILURE_THRESHOLD: "2",
    CIRCUIT_HALF_OPEN_AFTER_MS: "500",
    CIRCUIT_HALF_OPEN_MAX_MS: "1000",
    ...extra,
  });

  async function call(worker: WorkerHandle, path: string, init: RequestInit & { key?: string | null } = {}) {
    const key = init.key === undefined ? SECRETS.DRIFTLESS_API_KEY : init.key;
    const response = await fetch(`${worker.url}${path}`, {
      ...init,
      headers: { "content-type": "application/json", ...(key ? { "x-functions-key": key } : {}) },
    });
    const text = await response.text();
    answers.push(`${response.status} ${path} ${text}`);
    return { status: response.status, body: text };
  }

  function cli(args: string[], extra: Record<string, string>): Promise<string> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], {
        env: { ...process.env, ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("exit", (code) => resolve(`exit ${code}: ${output}`));
    });
  }

  it("finds none of them after a run through success and failure", async () => {
    const logger = createLogger("trace", capture);
    const worker = await startWorker(loadConfig(env()), { logger });
    workers.push(worker);
    const docs = Array.from({ length: 20 }, (_, i) => ({ id: `s${i}`, tenant: "t", title: `secret run ${i}`, n: i }));
    await Promise.all(docs.map((doc) => source.container.items.create(doc)));
    await source.container.items.create({ id: "bad", tenant: "t", title: "poison", n: "not a number" });
    const items = [...docs, { id: "bad" }].map((doc) => ({ id: doc.id, pk: "t" }));

    expect(
      (await call(worker, `/sources/${source.name}/enqueue`, { method: "POST", body: JSON.stringify({ items }) }))
        .status,
    ).toBe(202);
    expect(
      (
        await call(worker, `/sources/${source.name}/enqueue`, {
          method: "POST",
          body: JSON.stringify({ items }),
          key: null,
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await call(worker, `/sources/${source.name}/enqueue`, {
          method: "POST",
          body: JSON.stringify({ items }),
          key: `${SECRETS.DRIFTLESS_API_KEY}x`,
        })
      ).status,
    ).toBe(401);
    expect((await call(worker, `/sources/${source.name}/enqueue`, { method: "POST", body: "{nope" })).status).toBe(400);
    expect((await call(worker, `/sources/nope/enqueue`, { method: "POST", body: "{}" })).status).toBe(404);
    expect(
      (await call(worker, `/sources/${source.name}/enqueue`, { method: "POST", body: "x".repeat(1_100_000) })).status,
    ).toBe(413);
    await eventually(
      async () =>
        expect(JSON.parse((await call(worker, `/sources/${source.name}/deadletters`)).body)).toMatchObject({
          total: 1,
        }),
      { timeoutMs: 30_000 },
    );
    expect(
      (
        await call(worker, `/sources/${source.name}/deadletters/redrive`, {
          method: "POST",
          body: JSON.stringify({ items: [{ id: "bad", pk: "t" }] }),
        })
      ).status,
    ).toBe(202);
    await eventually(
      async () =>
        expect(JSON.parse((await call(worker, `/sources/${source.name}/deadletters`)).body)).toMatchObject({
          total: 1,
        }),
      { timeoutMs: 30_000 },
    );
    expect(
      (await call(worker, `/sources/${source.name}/deadletters/purge`, { method: "POST", body: "{}" })).status,
    ).toBe(400);
    expect(
      (
        await call(worker, `/sources/${source.name}/deadletters/purge`, {
          method: "POST",
          body: JSON.stringify({ all: true }),
        })
      ).status,
    ).toBe(200);
    await call(worker, "/status");
    expect((await call(worker, "/health")).status).toBe(200);
    await worker.stop();

    // Elasticsearch unreachable, with a password in its URL: the worker waits for it, health fails, keys wait.
    const down = `http://elastic:${SECRETS.ELASTICSEARCH_PASSWORD}@127.0.0.1:${await freePort()}`;
    const broken = await startWorker(loadConfig(env({ ELASTICSEARCH_URL: down, ELASTICSEARCH_API_KEY: "" })), {
      logger,
    });
    workers = [broken];
    expect(
      (await call(broken, `/sources/${source.name}/enqueue`, { method: "POST", body: JSON.stringify({ items }) }))
        .status,
    ).toBe(202);
    expect((await call(broken, "/health")).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await call(broken, "/status");
    await broken.stop();

    // The CLI with bad settings and a wrong Redis password.
    const cliEnv = { ...source.env, ...env(), LOG_LEVEL: "debug" };
    answers.push(
      await cli(["status"], { ...cliEnv, REDIS_URL: `rediss://:${SECRETS.REDIS_PASSWORD}@127.0.0.1:notaport` }),
    );
    answers.push(
      await cli(["status"], { ...cliEnv, ELASTICSEARCH_URL: `ftp://elastic:${SECRETS.ELASTICSEARCH_PASSWORD}@host` }),
    );
    answers.push(
      await cli(["deadletters", "list", source.name], {
        ...cliEnv,
        REDIS_URL: redis.url.replace(SECRETS.REDIS_PASSWORD, `${SECRETS.REDIS_PASSWORD}x`),
        REDIS_COMMAND_TIMEOUT_MS: "1000",
      }),
    );

    const text = [...logs, ...answers].join("\n");
    const leaks = Object.entries(SECRETS)
      .filter(([, value]) => text.includes(value))
      .map(([name]) => name);
    const levels = new Set(
      logs.map((line) =>
        String(
          (JSON.parse(line) as Record<string, unknown>)["log.level"] ?? (JSON.parse(line) as { level?: unknown }).level,
        ),
      ),
    );
    console.log(
      `[secrets] searched ${logs.length} log lines (levels ${[...levels].sort().join(", ")}) and ${answers.length} HTTP/CLI answers ` +
        `(${answers.filter((answer) => /^(4|5)\d\d |^exit [1-9]/.test(answer)).length} of them errors) for ${Object.keys(SECRETS).length} secrets: ${leaks.length} found`,
    );
    // The lines that could carry a secret were written: the dead letter, and the failed calls to
    // an Elasticsearch whose URL holds a password.
    expect(logs.length).toBeGreaterThan(10);
    expect(logs.some((line) => line.includes('"log.level":"warn"') && line.includes("driftless.deadLettered"))).toBe(
      true,
    );
    expect(logs.some((line) => line.includes('"error.message":"DependencyError: elasticsearch'))).toBe(true);
    expect(answers.some((answer) => answer.startsWith("exit 3: driftless: config_invalid: REDIS_URL"))).toBe(true);
    expect(answers.some((answer) => answer.startsWith("503 /health"))).toBe(true);
    expect(leaks).toEqual([]);
  }, 120_000);
});
