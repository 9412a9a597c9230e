import { join } from "node:path";
import { Redis } from "ioredis";
import { readFileSync } from "node:fs";
import { ensureLocalhostCertificate } from "../../../scripts/stack/cosmos-cert.js";
import { freePort } from "../../../scripts/stack/ports.js";
import { ServiceProcess } from "../../../scripts/stack/service-process.js";

export interface TlsRedis {
  /** `rediss://:<password>@127.0.0.1:<port>` */
  readonly url: string;
  /** The self-signed certificate, which is its own CA. */
  readonly caFile: string;
  stop(): Promise<void>;
}

/**
 * A redis-server that speaks TLS only (no plain port) and requires a password, with a
 * self-signed localhost certificate: what `rediss://` with REDIS_CA_FILE is for.
 */
export async function startTlsRedis(dir: string, password: string): Promise<TlsRedis> {
  const { certFile, keyFile } = await ensureLocalhostCertificate(dir);
  const port = await freePort();
  const server = ServiceProcess.spawn({
    service: "redis",
    command: process.env.REDIS_SERVER ?? "redis-server",
    args: [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--tls-cert-file",
      certFile,
      "--tls-key-file",
      keyFile,
      "--tls-ca-cert-file",
      certFile,
      "--tls-auth-clients",
      "no",
      "--requirepass",
      password,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    cwd: dir,
    logFile: join(dir, "redis-tls.log"),
  });
  const url = `rediss://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  await server.waitReady(async () => {
    const probe = new Redis(url, {
      tls: { ca: readFileSync(certFile) },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === "PONG";
    } finally {
      probe.disconnect();
    }
  }, 15_000);
  return { url, caFile: certFile, stop: () => server.stop() };
}
