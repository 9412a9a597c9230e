/** Exit codes of the driftless command; scripts may rely on them. */
export const EXIT = {
  ok: 0,
  /** The command failed. */
  failure: 1,
  /** Wrong arguments or options. */
  usage: 2,
  /** A setting is missing or malformed. */
  config: 3,
  /** A dependency (Redis, Elasticsearch, Cosmos DB) could not be reached. */
  unavailable: 4,
} as const;
