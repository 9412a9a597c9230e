export { createCosmosClient, type CosmosClientOptions } from "./client.js";
export { createCosmosReader, type ReadResult, type SourceReader, type CosmosReaderOptions } from "./reader.js";
export { describeCosmosError } from "./errors.js";
