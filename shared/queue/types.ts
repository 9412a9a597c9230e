export interface RetryPolicy {
  /** After this many failed attempts a key is dead-lettered. @defaultValue 10 */
  readonly maxAttempts: number;
  /** Delay after the first failure; doubles each attempt. @defaultValue 1000 */
  readonly backoffBaseMs: number;
  /** Upper bound of the delay. @defaultValue 300000 */
  readonly backoffMaxMs: number;
}
