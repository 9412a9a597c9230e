/**
 * The negative codes Redis scripts return, one meaning per number across every script;
 * `lua/includes/codes.lua` defines the same numbers (checked by test/unit/redis-scripts.test.ts).
 */
export enum ScriptCode {
  /** A queue script was called with a malformed argument. */
  BadArgument = -1,
  /** A queue script was called with an unknown lane. */
  BadLane = -2,
  /** commitJob: no such job. */
  JobMissing = -3,
  /** commitJob: the job is not in the state the caller expects. */
  JobWrongState = -4,
}
