import { readFileSync } from "node:fs";
import { Client, type ClientOptions } from "@elastic/elasticsearch";
import { Client as OpenSearch } from "@opensearch-project/opensearch";
import { ConfigError } from "../core/errors.js";
import { createOpenSearchAdapter } from "./opensearch-client.js";
import type { SearchClient, SearchEngine } from "./search-client.js";

export type { Client, SearchClient, SearchEngine };

export interface ElasticClientOptions {
  /** Base URL of the cluster. User info in it (`https://user:pass@host`) is taken as basic auth. */
  readonly node: string;
  /** An API key (the base64 `encoded` form). Exclusive with username/password. */
  readonly apiKey?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** A PEM CA certificate to trust, for clusters with a self-signed certificate. */
  readonly caFile?: string | undefined;
  /** Timeout of one request, bulk writes included. @defaultValue 30000 */
  readonly requestTimeoutMs?: number;
  /** Sockets kept open to the cluster; the engine pipelines a few bulk requests at a time. @defaultValue 64 */
  readonly maxSockets?: number;
  /**
   * Immediate retries by the client on a connection error or a 502/503/504. The engine retries
   * with backoff, so one quick retry (for a keep-alive socket the server closed) is enough.
   * @defaultValue 1
   */
  readonly maxRetries?: number;
  /**
   * How long an idle socket is kept. Below the 4-minute idle timeout of Azure load balancers,
   * so the client drops a socket before the network silently does. @defaultValue 60000
   */
  readonly keepAliveMs?: number;
}

/**
 * The client of the configured engine, behind the SearchClient port: the Elasticsearch client
 * (8 talks to Elasticsearch 9 through its REST compatibility with 8), or OpenSearch's own client
 * behind the adapter. Same settings, same secret handling, for both.
 */
export function createSearchClient(options: ElasticClientOptions & { readonly engine?: SearchEngine }): SearchClient {
  if ((options.engine ?? "elasticsearch") === "elasticsearch") return createElasticClient(options);
  return createOpenSearchAdapter(createOpenSearchClient(options));
}

/** OpenSearch's own client with the settings createElasticClient takes; OpenSearch has no API keys. */
function createOpenSearchClient(options: ElasticClientOptions): OpenSearch {
  const { node, apiKey, caFile, requestTimeoutMs = 30_000, maxSockets = 64, maxRetries = 1 } = options;
  if (apiKey) {
    throw new ConfigError(
      "ELASTICSEARCH_API_KEY",
      "OpenSearch has no API keys: use ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD",
    );
  }
  const url = parseNode(node);
  const basic = basicAuth(url, options.username, options.password);
  positive("ELASTICSEARCH_REQUEST_TIMEOUT_MS", requestTimeoutMs);
  positive("maxSockets", maxSockets);
  return new OpenSearch({
    node: url.toString(),
    requestTimeout: requestTimeoutMs,
    maxRetries,
    agent: { maxSockets, keepAlive: true },
    ...(basic ? { auth: basic } : {}),
    ...(caFile ? { ssl: { ca: readCa(caFile) } } : {}),
  });
}

/**
 * The Elasticsearch client driftless uses everywhere. Secrets stay inside the client: errors
 * thrown here name the setting, never its value, and the client redacts its own error metadata.
 */
export function createElasticClient(options: ElasticClientOptions): Client {
  const {
    node,
    apiKey,
    caFile,
    requestTimeoutMs = 30_000,
    maxSockets = 64,
    maxRetries = 1,
    keepAliveMs = 60_000,
  } = options;
  const url = parseNode(node);
  const basic = basicAuth(url, options.username, options.password);
  if (apiKey && basic) {
    throw new ConfigError("ELASTICSEARCH_API_KEY", "set either an API key or a username and password, not both");
  }
  positive("ELASTICSEARCH_REQUEST_TIMEOUT_MS", requestTimeoutMs);
  positive("maxSockets", maxSockets);

  const clientOptions: ClientOptions = {
    node: url.toString(),
    requestTimeout: requestTimeoutMs,
    maxRetries,
    agent: { connections: maxSockets, keepAliveTimeout: keepAliveMs, keepAliveMaxTimeout: keepAliveMs },
    redaction: { type: "replace", additionalKeys: ["password", "api_key", "apiKey"] },
  };
  if (apiKey) clientOptions.auth = { apiKey };
  else if (basic) clientOptions.auth = basic;
  if (caFile) clientOptions.tls = { ca: readCa(caFile) };
  return new Client(clientOptions);
}

/** Parses the node URL; user info is moved out so no later message can echo it. */
function parseNode(node: string): URL {
  let url: URL;
  try {
    url = new URL(node);
  } catch {
    // The thrown TypeError carries the input, which may hold a password: only say what is wrong.
    throw new ConfigError("ELASTICSEARCH_URL", "not a valid URL (expected http(s)://host:port)");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError("ELASTICSEARCH_URL", `must be http or https, not ${url.protocol.replace(":", "")}`);
  }
  return url;
}

function basicAuth(url: URL, username?: string, password?: string): { username: string; password: string } | undefined {
  const inUrl = url.username !== "" || url.password !== "";
  const fromUrl = inUrl
    ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
    : undefined;
  url.username = "";
  url.password = "";
  if (fromUrl && (username || password)) {
    throw new ConfigError("ELASTICSEARCH_USERNAME", "credentials are both in ELASTICSEARCH_URL and set separately");
  }
  if (fromUrl) return fromUrl;
  if (!username && !password) return undefined;
  if (!username) throw new ConfigError("ELASTICSEARCH_USERNAME", "required when ELASTICSEARCH_PASSWORD is set");
  if (!password) throw new ConfigError("ELASTICSEARCH_PASSWORD", "required when ELASTICSEARCH_USERNAME is set");
  return { username, password };
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      "ELASTICSEARCH_CA_FILE",
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
}

function positive(setting: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(setting, "must be a positive number");
}
