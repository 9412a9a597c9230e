export * from "./types.js";
export { createJobs, toView } from "./service.js";
export { runJobChunk } from "./runner.js";
export { runJobLoop, type JobLoopOptions } from "./loop.js";
export { createJobStore, isTerminal, type JobStore } from "./store.js";
export { newJobId, parseJobId } from "./ids.js";
export { rebuildAlias } from "./rebuild.js";
export type { JobDeps, JobOptions, JobSource } from "./context.js";
export { createWriteTargets } from "./write-targets.js";
