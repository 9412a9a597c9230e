/**
 * Fields of driftless's ECS log lines the Kibana dashboard's log panels use, with the type they
 * get in a `logs-*-*` data stream (Elasticsearch's built-in logs template; strings under
 * `driftless.*` map to keyword). test/infra/kibana-dashboard.test.ts checks that the dashboard
 * uses only these and that the logger writes each; test/integration/elastic-logs.test.ts that
 * shipped log lines get these types in Elasticsearch.
 */
export const LOG_FIELDS: Record<string, string> = {
  "@timestamp": "date",
  "log.level": "keyword",
  message: "text",
  "service.name": "keyword",
  "error.message": "text",
  "driftless.source": "keyword",
  "driftless.dependency": "keyword",
  "driftless.deadLettered": "long",
};
