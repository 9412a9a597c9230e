import type { estypes } from "@elastic/elasticsearch";

/** The engines driftless writes to: Elasticsearch 8 and 9, and OpenSearch 2 (ELASTICSEARCH_ENGINE). */
export type SearchEngine = "elasticsearch" | "opensearch";

/** A low-level request: path, method, query string and a JSON or NDJSON body. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly querystring?: Record<string, string>;
  readonly body?: Readonly<Record<string, unknown>>;
  /** NDJSON, sent as it is (`_bulk`); as bytes, or text the client encodes as UTF-8. */
  readonly bulkBody?: string | Buffer;
  /** Kept for the Elasticsearch client's instrumentation; ignored by the OpenSearch adapter. */
  readonly meta?: { readonly name: string; readonly pathParts?: Record<string, string> };
}

/**
 * The port between driftless and a search engine: exactly the calls the sink, the index manager,
 * the scanner and the sync-events and log writers make, in the Elasticsearch client's shapes
 * (its request and response types are the most complete description of the wire format, which
 * OpenSearch kept from Elasticsearch 7.10). The Elasticsearch client is one as it is; OpenSearch
 * gets an adapter over its own client (opensearch-client.ts), because the Elasticsearch client
 * refuses any server that does not say it is Elasticsearch.
 *
 * Errors: a failed request rejects with an error whose `meta` has `statusCode` and `body`
 * (both clients' ResponseError), or a ConnectionError / TimeoutError (failure.ts reads them).
 */
export interface SearchClient {
  bulk(params: estypes.BulkRequest): Promise<estypes.BulkResponse>;
  count(params: estypes.CountRequest): Promise<estypes.CountResponse>;
  mget(params: estypes.MgetRequest): Promise<estypes.MgetResponse>;
  search<T = unknown>(params: estypes.SearchRequest): Promise<estypes.SearchResponse<T>>;
  openPointInTime(params: estypes.OpenPointInTimeRequest): Promise<estypes.OpenPointInTimeResponse>;
  closePointInTime(params: estypes.ClosePointInTimeRequest): Promise<estypes.ClosePointInTimeResponse>;
  readonly cluster: {
    health(
      params: estypes.ClusterHealthRequest,
      options?: { readonly requestTimeout?: number },
    ): Promise<estypes.ClusterHealthResponse>;
  };
  readonly indices: {
    create(params: estypes.IndicesCreateRequest): Promise<estypes.IndicesCreateResponse>;
    delete(params: estypes.IndicesDeleteRequest): Promise<estypes.IndicesDeleteResponse>;
    deleteAlias(params: estypes.IndicesDeleteAliasRequest): Promise<estypes.IndicesDeleteAliasResponse>;
    exists(params: estypes.IndicesExistsRequest): Promise<boolean>;
    get(params: estypes.IndicesGetRequest): Promise<estypes.IndicesGetResponse>;
    getAlias(params: estypes.IndicesGetAliasRequest): Promise<estypes.IndicesGetAliasResponse>;
    putIndexTemplate(params: estypes.IndicesPutIndexTemplateRequest): Promise<estypes.IndicesPutIndexTemplateResponse>;
    putSettings(params: estypes.IndicesPutSettingsRequest): Promise<estypes.IndicesPutSettingsResponse>;
    refresh(params: estypes.IndicesRefreshRequest): Promise<estypes.IndicesRefreshResponse>;
    updateAliases(params: estypes.IndicesUpdateAliasesRequest): Promise<estypes.IndicesUpdateAliasesResponse>;
  };
  readonly transport: {
    request<T = unknown>(params: RawRequest, options?: { readonly maxRetries?: number }): Promise<T>;
  };
  close(): Promise<void>;
}
