import type { DrainReport } from "../shared/sync/drain.js";

/*
 * What the pipeline's two processes share: bench/pipeline.ts starts bench/pipeline-child.ts and
 * reads its results. In neither of them, so that neither imports the other (the child is a
 * script: importing it would run it).
 */

/** The source (and index) of the pipeline's n-th timed drain. */
export const roundSource = (round: number) => `round${round}`;

export interface PipelineResult {
  readonly ms: number;
  /** User + system CPU of this process during the timed drain. */
  readonly cpuMs: number;
  /**
   * The share of the timed drain the main thread was busy (event loop utilization): near 1, the
   * worker's one JavaScript thread is what limits it, whatever the cores left.
   */
  readonly eventLoopBusy: number;
  readonly report: DrainReport;
  /** Peak resident set of the process so far. */
  readonly maxRssMb: number;
}
