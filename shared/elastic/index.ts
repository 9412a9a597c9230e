export { createBulkSink, type BulkSinkOptions } from "./bulk-sink.js";
export { classifyItem, classifyRequestFailure, formatReason, MAX_REASON_LENGTH } from "./classify.js";
export type { BulkItemResult, EsErrorCause, RequestFailure, RequestVerdict, Verdict } from "./classify.js";
export {
  createElasticClient,
  createSearchClient,
  type Client,
  type ElasticClientOptions,
  type SearchClient,
  type SearchEngine,
} from "./client.js";
export {
  AliasInvalidError,
  AliasTakenError,
  ElasticIndexError,
  IndexMissingError,
  MappingIncompatibleError,
  MappingInvalidError,
} from "./errors.js";
export {
  createIndexVersion,
  ensureIndex,
  indexVersionName,
  swapAlias,
  withMetadata,
  type EnsureIndexResult,
} from "./index-manager.js";
export { mergeOutcomes, withExtraTargets, type WriteTargets } from "./fan-out.js";
export { DRIFTLESS_METADATA } from "./metadata.js";
export type { IndexDefinition, IndexMapping, IndexSettings } from "./types.js";
