import type { estypes } from "@elastic/elasticsearch";
import type { Client as OpenSearch } from "@opensearch-project/opensearch";
import type { RawRequest, SearchClient } from "./search-client.js";

/** Parameters that go into the query string; every other field of a request is its JSON body. */
const QUERY_PARAMETERS: ReadonlySet<string> = new Set([
  "allow_no_indices",
  "filter_path",
  "ignore_unavailable",
  "keep_alive",
  "timeout",
  "realtime",
  "refresh",
  "require_alias",
  "require_data_stream",
  "wait_for_active_shards",
  "_source_includes",
]);

/**
 * `_shard_doc`, Elasticsearch's cheapest total order inside a point in time, is not in OpenSearch 2:
 * there a scan pages in `_id` order, unique per index as search_after needs, at the price of the
 * `_id` field data OpenSearch builds for it.
 */
function isShardDocSort(sort: estypes.SearchRequest["sort"]): boolean {
  if (!Array.isArray(sort) || sort.length !== 1) return false;
  const only: unknown = sort[0];
  return only !== null && typeof only === "object" && Object.keys(only).join() === "_shard_doc";
}

/** What the adapter needs from the OpenSearch client (its transport and close). */
export type OpenSearchTransport = Pick<OpenSearch, "transport" | "close">;

/**
 * The SearchClient over OpenSearch's own client. Each call becomes the REST request OpenSearch
 * documents for it, sent through that client's transport (its connection pool, retries, TLS and
 * auth): OpenSearch 2 kept Elasticsearch 7.10's endpoints, so the Elasticsearch request shapes
 * map one to one but for the point in time, which OpenSearch added later under other names
 * (`_search/point_in_time`, `pit_id`).
 */
export function createOpenSearchAdapter(client: OpenSearchTransport): SearchClient {
  const call = async <T>(
    request: RawRequest,
    options: { readonly maxRetries?: number | undefined; readonly requestTimeout?: number | undefined } = {},
  ): Promise<T> => {
    const response = await client.transport.request(
      {
        method: request.method,
        path: request.path,
        ...(request.querystring ? { querystring: request.querystring } : {}),
        ...(request.body ? { body: request.body as Record<string, unknown> } : {}),
        ...(request.bulkBody ? { bulkBody: request.bulkBody } : {}),
      },
      {
        ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
        ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
      },
    );
    return response.body as T;
  };
  /** The request with its query parameters split from its body; path parameters are the caller's. */
  const split = (params: object, pathParameters: readonly string[]) => {
    const querystring: Record<string, string> = {};
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || pathParameters.includes(key)) continue;
      if (QUERY_PARAMETERS.has(key)) querystring[key] = Array.isArray(value) ? value.join(",") : String(value);
      else body[key] = value;
    }
    return { querystring, ...(Object.keys(body).length > 0 ? { body } : {}) };
  };
  const target = (index: unknown): string => (Array.isArray(index) ? index.join(",") : String(index));

  return {
    async bulk(params) {
      const { operations = [], ...rest } = params;
      const { querystring } = split(rest, ["index"]);
      const bulkBody = `${operations.map((line) => JSON.stringify(line)).join("\n")}\n`;
      const path = params.index ? `/${encodeURIComponent(params.index)}/_bulk` : "/_bulk";
      return call({ method: "POST", path, querystring, bulkBody });
    },
    count: (params) => call({ method: "POST", path: `/${target(params.index)}/_count`, ...split(params, ["index"]) }),
    mget: (params) => call({ method: "POST", path: `/${target(params.index)}/_mget`, ...split(params, ["index"]) }),
    async search<T>(params: estypes.SearchRequest) {
      // A search in a point in time names no index: the point in time has it.
      const path = params.index === undefined ? "/_search" : `/${target(params.index)}/_search`;
      const sort = params.pit && isShardDocSort(params.sort) ? { sort: [{ _id: "asc" }] } : {};
      return call<estypes.SearchResponse<T>>({ method: "POST", path, ...split({ ...params, ...sort }, ["index"]) });
    },
    async openPointInTime(params) {
      const response = await call<{ pit_id: string }>({
        method: "POST",
        path: `/${target(params.index)}/_search/point_in_time`,
        querystring: { keep_alive: String(params.keep_alive) },
      });
      return { id: response.pit_id } as estypes.OpenPointInTimeResponse;
    },
    async closePointInTime(params) {
      await call({ method: "DELETE", path: "/_search/point_in_time", body: { pit_id: [params.id] } });
      return { succeeded: true, num_freed: 1 };
    },
    cluster: {
      health: (params, options) =>
        call(
          { method: "GET", path: "/_cluster/health", querystring: split(params, []).querystring },
          { requestTimeout: options?.requestTimeout },
        ),
    },
    indices: {
      create: (params) =>
        call({ method: "PUT", path: `/${encodeURIComponent(params.index)}`, ...split(params, ["index"]) }),
      delete: (params) => call({ method: "DELETE", path: `/${target(params.index)}` }),
      deleteAlias: (params) =>
        call({ method: "DELETE", path: `/${target(params.index)}/_alias/${target(params.name)}` }),
      async exists(params) {
        const response = await client.transport.request(
          { method: "HEAD", path: `/${target(params.index)}` },
          { ignore: [404] },
        );
        return response.statusCode === 200;
      },
      // `features` is Elasticsearch's; OpenSearch answers with every feature, of which filter_path keeps what is asked.
      get: (params) =>
        call({
          method: "GET",
          path: `/${target(params.index)}`,
          querystring: split(params, ["index", "features"]).querystring,
        }),
      getAlias: (params) =>
        call({
          method: "GET",
          path: params.index
            ? `/${target(params.index)}/_alias/${target(params.name)}`
            : `/_alias/${target(params.name)}`,
        }),
      putIndexTemplate: (params) =>
        call({
          method: "PUT",
          path: `/_index_template/${encodeURIComponent(params.name)}`,
          ...split(params, ["name"]),
        }),
      putSettings: (params) =>
        call({ method: "PUT", path: `/${target(params.index)}/_settings`, body: params.settings ?? {} }),
      refresh: (params) => call({ method: "POST", path: `/${target(params.index)}/_refresh` }),
      updateAliases: (params) => call({ method: "POST", path: "/_aliases", body: { actions: params.actions ?? [] } }),
    },
    transport: {
      request: (params, options) => call(params, { maxRetries: options?.maxRetries }),
    },
    close: () => client.close(),
  };
}
