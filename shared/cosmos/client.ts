import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { CosmosClient } from "@azure/cosmos";
import { DefaultAzureCredential } from "@azure/identity";

export interface CosmosClientOptions {
  readonly endpoint: string;
  /** The account key. Without it the client signs in with Entra ID (managed identity in Azure). */
  readonly key?: string;
  /** Client id of a user-assigned managed identity; the system-assigned one (or developer sign-in) otherwise. */
  readonly clientId?: string;
  /** A CA certificate to trust, for emulators with self-signed certificates. */
  readonly caFile?: string;
  /** One request fails after this long (COSMOS_REQUEST_TIMEOUT_MS). @defaultValue 10000 */
  readonly requestTimeoutMs?: number;
}

/**
 * The SDK retries a throttled (429) request after Cosmos's retry-after, but by default for up to
 * 30 s while the sync holds the keys' leases. A shorter wait hands throttling back to the sync,
 * which releases the keys and slows down (shared/resilience/guard-reader.ts).
 */
const THROTTLE_RETRY = { maxRetryAttemptCount: 5, maxWaitTimeInSeconds: 10 };

/**
 * Keep-alive matters: without it every request pays a TLS handshake, which made point reads
 * several times slower against the local emulator (bench/results/history.md).
 */
export function createCosmosClient(options: CosmosClientOptions): CosmosClient {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 64,
    ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
  });
  const auth = options.key
    ? { key: options.key }
    : {
        aadCredentials: new DefaultAzureCredential(
          options.clientId ? { managedIdentityClientId: options.clientId } : {},
        ),
      };
  return new CosmosClient({
    endpoint: options.endpoint,
    ...auth,
    agent,
    connectionPolicy: {
      enableEndpointDiscovery: false,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      retryOptions: THROTTLE_RETRY,
    },
  });
}
