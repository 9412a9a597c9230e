import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { CosmosClient } from "@azure/cosmos";

export interface CosmosClientOptions {
  readonly endpoint: string;
  readonly key: string;
  /** A CA certificate to trust, for emulators with self-signed certificates. */
  readonly caFile?: string;
}

/**
 * Keep-alive matters: measured against the local emulator, point reads run at ~900/s with it and
 * ~150/s without, since every request otherwise pays a TLS handshake.
 */
export function createCosmosClient(options: CosmosClientOptions): CosmosClient {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 64,
    ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
  });
  return new CosmosClient({
    endpoint: options.endpoint,
    key: options.key,
    agent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}
