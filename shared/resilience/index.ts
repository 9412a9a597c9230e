export { createBackoff, type Backoff } from "./backoff.js";
export {
  createCircuit,
  DEFAULT_CIRCUIT_OPTIONS,
  isDependencyFailure,
  type Circuit,
  type CircuitOptions,
  type CircuitStateName,
} from "./circuit.js";
export { createCircuits, type Circuits, type Probe } from "./circuits.js";
export { bulkRequestFailure, itemFailureScope, readFailureScope, type FailureScope } from "./classify.js";
export {
  BulkTimeoutPause,
  DependencyPause,
  isPause,
  PartlyServedPause,
  PartlyWrittenPause,
  type Dependency,
  type PauseKind,
} from "./errors.js";
export { guardQueue, type GuardQueueOptions } from "./guard-queue.js";
export { guardReader, type GuardReaderOptions } from "./guard-reader.js";
export { guardRelatedReader } from "./guard-related.js";
export { guardSink } from "./guard-sink.js";
