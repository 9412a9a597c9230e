import type { Config } from "../config/load-config.js";
import { createElasticClient } from "../elastic/client.js";
import { createElasticLogShipper, type ElasticLogShipper } from "../telemetry/elastic-logs.js";
import { invocationRouted, type LineSink } from "../telemetry/invocation-logs.js";
import { createLogger, type Logger } from "../telemetry/logger.js";

export interface ServiceLogging {
  readonly logger: Logger;
  /** Sends the log lines still buffered for Elasticsearch; the logger keeps writing to its destination. */
  close(): Promise<void>;
}

/**
 * The logger of a host (a Functions worker process, `driftless worker`): ECS JSON lines to
 * `destination` (stdout), or to the current Functions invocation's log when there is one, and,
 * with LOG_ELASTICSEARCH_URL, also into that Elasticsearch's log data stream.
 */
export function createServiceLogging(
  config: Pick<Config, "logLevel" | "telemetry">,
  options: { readonly destination?: LineSink; readonly report?: (message: string) => void } = {},
): ServiceLogging {
  const routed = invocationRouted(options.destination ?? process.stdout);
  const elastic = config.telemetry.logs?.elasticsearch;
  let shipper: ElasticLogShipper | undefined;
  let client: ReturnType<typeof createElasticClient> | undefined;
  if (elastic) {
    client = createElasticClient({
      node: elastic.node,
      apiKey: elastic.apiKey,
      caFile: elastic.caFile,
      requestTimeoutMs: 10_000,
      maxSockets: 2,
      maxRetries: 0,
    });
    const report = options.report ?? ((message: string) => process.stderr.write(`driftless: ${message}\n`));
    shipper = createElasticLogShipper({ client, dataStream: elastic.dataStream, report });
  }
  const destination: LineSink = shipper
    ? {
        write(line: string) {
          routed.write(line);
          return shipper!.write(line);
        },
      }
    : routed;
  return {
    logger: createLogger(config.logLevel, destination),
    close: async () => {
      await shipper?.close();
      await client?.close();
    },
  };
}
