import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../shared/config/index.js";
import { createServices } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { startTlsRedis, type TlsRedis } from "./support/tls-redis.js";

const PASSWORD = "tls-redis-password-7f3e1c";

/** `rediss://` against a real TLS-only redis-server with a private CA and a password. */
describe("Redis over TLS (rediss://, REDIS_CA_FILE, REDIS_TLS_INSECURE)", () => {
  let dir: string;
  let redis: TlsRedis;
  let source: TestSource;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "driftless-redis-tls-"));
    await chmod(dir, 0o755);
    redis = await startTlsRedis(dir, PASSWORD);
    source = await createTestSource();
  });

  afterAll(async () => {
    await source?.dispose();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const configWith = (env: Record<string, string>): Config =>
    loadConfig({
      ...source.env,
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: "2000",
      CIRCUIT_FAILURE_THRESHOLD: "50",
      ...env,
    });

  const connectionErrors: Error[] = [];

  async function roundTrip(config: Config) {
    const services = createServices(config, silentLogger);
    services.clients.redis.on("error", (error: Error) => connectionErrors.push(error));
    try {
      const queue = services.sources.get(source.name)!.queue;
      await queue.enqueue([{ id: "tls-1", pk: "t" }], { lane: "live", now: Date.now() });
      return (await queue.stats(Date.now())).pending;
    } finally {
      await services.close();
    }
  }

  it("connects with the server's CA from REDIS_CA_FILE and verifies it", async () => {
    expect(await roundTrip(configWith({ REDIS_CA_FILE: redis.caFile }))).toBe(1);
  });

  it("refuses a certificate it cannot verify, with an error that does not carry the password", async () => {
    connectionErrors.length = 0;
    const error = await roundTrip(configWith({})).catch((failure: unknown) => failure as Error);
    expect(error).toMatchObject({ code: "redis_unavailable" });
    expect(connectionErrors.map((failure) => failure.message).join("\n")).toMatch(/self.signed certificate/);
    for (const failure of [error as Error, ...connectionErrors]) {
      expect(JSON.stringify({ message: failure.message, stack: failure.stack })).not.toContain(PASSWORD);
    }
  });

  it("skips verification only when REDIS_TLS_INSECURE=true", async () => {
    expect(await roundTrip(configWith({ REDIS_TLS_INSECURE: "true" }))).toBe(1);
  });

  it("rejects TLS settings for a plain redis:// URL, and an unreadable CA file, by setting name", () => {
    expect(() => loadConfig({ ...source.env, REDIS_CA_FILE: redis.caFile })).toThrow(
      /REDIS_CA_FILE: only applies to a rediss:\/\//,
    );
    expect(() => loadConfig({ ...source.env, REDIS_TLS_INSECURE: "true" })).toThrow(/REDIS_TLS_INSECURE/);
    expect(() => createServices(configWith({ REDIS_CA_FILE: join(dir, "missing.pem") }), silentLogger)).toThrow(
      /REDIS_CA_FILE: cannot read .*ENOENT/,
    );
  });
});
