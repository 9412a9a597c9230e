export * from "./types.js";
export { createQueue, DEFAULT_RETRY_POLICY, type Queue, type QueueOptions } from "./redis-queue.js";
export { QueueScriptError } from "./errors.js";
export { waitForReplicas, waitingForReplicas, type ReplicaWait } from "./replica-wait.js";
