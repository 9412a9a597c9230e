/** How much each measurement does: `make bench QUICK=1` keeps the whole run under 3 minutes. */
export interface Sizes {
  /** Documents seeded into Cosmos once per run; every measurement reads from these. */
  readonly docs: number;
  /** Seconds per configuration while sweeping batch sizes and concurrency. */
  readonly sweepSeconds: number;
  /** Seconds the two raw loops run side by side for the ceilings, in each round. */
  readonly ceilingSeconds: number;
  /**
   * Rounds of the side-by-side ceilings, the pipelines, helpers.bulk and a timed rebuild
   * (rounds.ts), each compared with its round's window; the ratios are the medians of the rounds'.
   */
  readonly rounds: number;
  /** Keys the driftless pipeline drains. */
  readonly pipelineDocs: number;
  /** Documents the one-request-per-document baseline writes (it is slow). */
  readonly perDocDocs: number;
  /**
   * Documents the helpers.bulk baseline writes: as many as the pipeline, so both fill an index to
   * the same size (indexing slows as the index grows and its segments merge).
   */
  readonly helpersBulkDocs: number;
  /** Keys enqueued, then claimed and acknowledged, for the queue alone. */
  readonly queueKeys: number;
  /** Seconds per autocannon run against the HTTP producer. */
  readonly httpSeconds: number;
  /** Documents written to Cosmos and timed until searchable. */
  readonly freshnessSamples: number;
  /** Documents the reimport scans (the issue: 20,000 quick, 200,000 full): the whole seeded container. */
  readonly reimportDocs: number;
  /** A reimport still running after this long is reported from its progress so far. */
  readonly reimportTimeoutSeconds: number;
}

export const QUICK: Sizes = {
  docs: 20_000,
  sweepSeconds: 2,
  ceilingSeconds: 3,
  rounds: 3,
  pipelineDocs: 20_000,
  perDocDocs: 1_000,
  helpersBulkDocs: 20_000,
  queueKeys: 20_000,
  httpSeconds: 5,
  freshnessSamples: 100,
  reimportDocs: 20_000,
  reimportTimeoutSeconds: 60,
};

export const FULL: Sizes = {
  docs: 200_000,
  sweepSeconds: 4,
  ceilingSeconds: 10,
  rounds: 3,
  pipelineDocs: 100_000,
  perDocDocs: 5_000,
  helpersBulkDocs: 100_000,
  queueKeys: 100_000,
  httpSeconds: 15,
  freshnessSamples: 400,
  reimportDocs: 200_000,
  reimportTimeoutSeconds: 900,
};
