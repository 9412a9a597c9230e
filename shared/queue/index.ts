export * from "./types.js";
export { createQueue, DEFAULT_RETRY_POLICY, type Queue, type QueueOptions } from "./redis-queue.js";
export { DEFAULT_PREFIX, queueKeys, type QueueKeyName, type QueueKeys } from "./keys.js";
export { QueueScriptError, ScriptCode } from "./errors.js";
export type { RedisClient } from "./scripts.js";
export { waitForReplicas, waitingForReplicas, type ReplicaWait } from "./replica-wait.js";
