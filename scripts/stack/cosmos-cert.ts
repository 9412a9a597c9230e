import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { StackError } from "./errors.js";
import { findExecutable } from "./executables.js";

const run = promisify(execFile);

export interface Certificate {
  /** PEM certificate; self-signed, so it is also the CA file clients trust. */
  certFile: string;
  keyFile: string;
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, made once per directory. The emulator's
 * bundled certificate has expired and names `cosmosdb`, so no client could verify it; making our
 * own lets clients keep TLS verification on instead of disabling it process-wide.
 */
export async function ensureLocalhostCertificate(dir: string): Promise<Certificate> {
  const certFile = join(dir, "localhost-cert.pem");
  const keyFile = join(dir, "localhost-key.pem");
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };

  const openssl = findExecutable("openssl");
  if (openssl === null) throw new StackError("cosmos", "openssl not found on PATH: apt-get install -y openssl");
  await mkdir(dir, { recursive: true });
  const args = [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "825",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ];
  try {
    await run(openssl, args);
  } catch (error) {
    const { stderr = "" } = error as { stderr?: string };
    throw new StackError("cosmos", `openssl ${args.join(" ")} failed:\n${stderr}`.trimEnd(), { cause: error });
  }
  return { certFile, keyFile };
}
